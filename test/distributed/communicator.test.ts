import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistributedError, LocalCommunicator, detectLaunch } from '../../src/train/distributed/index.js';
import { mpirun, mpiUnavailable } from './mpirun.js';

test('detectLaunch reads mpirun, PMI and Slurm variables, and refuses nonsense', () => {
  assert.deepEqual(detectLaunch({}), { rank: 0, size: 1, launcher: null });
  assert.deepEqual(detectLaunch({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4' }), {
    rank: 1,
    size: 4,
    launcher: 'mpirun',
  });
  assert.deepEqual(detectLaunch({ PMI_RANK: '2', PMI_SIZE: '3' }), { rank: 2, size: 3, launcher: 'pmi' });
  assert.deepEqual(detectLaunch({ SLURM_PROCID: '0', SLURM_STEP_NUM_TASKS: '2' }), { rank: 0, size: 2, launcher: 'srun' });
  assert.throws(
    () => detectLaunch({ SLURM_PROCID: '2', SLURM_STEP_NUM_TASKS: '2' }),
    (e: Error) => e instanceof DistributedError && /SLURM_PROCID=2 and SLURM_STEP_NUM_TASKS=2/.test(e.message),
  );
});

test('the local communicator is one rank whose collectives leave buffers alone', async () => {
  const comm = new LocalCommunicator();
  const b = new Float32Array([1, 2]);
  await comm.allReduceSum(b);
  await comm.broadcast(b);
  await comm.barrier();
  assert.deepEqual([comm.rank, comm.size, ...b], [0, 1, 1, 2]);
});

const skip = mpiUnavailable();
test(
  'MPI collectives on 3 ranks: sums in place (f32, f64, i32), broadcast from rank 1, barrier off the JS thread',
  { skip: skip ?? false },
  async () => {
    const out = await mpirun(3, ['test/distributed/collectives-rank.ts'], { timeoutMs: 120_000 });
    assert.equal(out.code, 0, out.stderr);
    const ranks = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .sort((a, b) => (a.rank as number) - (b.rank as number));
    assert.equal(ranks.length, 3);
    const last = (3_400_000 - 1) % 7;
    for (const [rank, r] of ranks.entries()) {
      assert.deepEqual(r, {
        rank,
        size: 3,
        big: [0 + 1 + 2, 3 + 3 * 6, 3 + 3 * last],
        doubles: [0.5 + 1.5 + 2.5, 3],
        ints: [3, -3],
        fromRoot: [9, 9, 9, 9, 9],
        tickedDuring: true,
        yieldWhenIdle: '1',
      });
    }
  },
);
