// Slurm: the tasks `srun -n N` starts are ranks (SLURM_PROCID of SLURM_STEP_NUM_TASKS), and MPI must
// see the same world: srun hands it the ranks through PMI only with the right --mpi plugin, and
// without it every task is an MPI world of one. No Slurm here: the environments below are the
// variables Slurm sets (a batch script's, an srun task's), and the last test runs a real MPI
// singleton under an srun task's variables, as a task srun started without --mpi=pmix would be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { checkWorld, detectLaunch, DistributedError } from '../../src/train/distributed/index.js';
import { ROOT } from '../cli/helpers.js';
import { mpiUnavailable } from './mpirun.js';

/** What `sbatch --ntasks=4` gives the batch script: the allocation, no step. */
const BATCH = { SLURM_JOB_ID: '7', SLURM_NTASKS: '4', SLURM_NPROCS: '4', SLURM_PROCID: '0', SLURM_LOCALID: '0' };
/** What task 1 of `srun -n 2` inside that allocation gets: its step too. */
const SRUN_TASK = { ...BATCH, SLURM_NTASKS: '2', SLURM_PROCID: '1', SLURM_STEP_ID: '0', SLURM_STEP_NUM_TASKS: '2' };

test('Slurm: an srun task is a rank of the step; a batch script itself is one process whatever --ntasks says', () => {
  assert.deepEqual(detectLaunch(SRUN_TASK), { rank: 1, size: 2, launcher: 'srun' });
  assert.deepEqual(detectLaunch(BATCH), { rank: 0, size: 1, launcher: null });
  // mpirun (or MPICH's mpiexec) inside the allocation: its own variables win over the allocation's.
  assert.deepEqual(detectLaunch({ ...BATCH, OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4' }), {
    rank: 3,
    size: 4,
    launcher: 'mpirun',
  });
  assert.deepEqual(detectLaunch({ ...BATCH, PMI_RANK: '2', PMI_SIZE: '4' }), { rank: 2, size: 4, launcher: 'pmi' });
});

test("checkWorld: MPI's world must be the launcher's", () => {
  checkWorld({ rank: 1, size: 2 }, detectLaunch(SRUN_TASK));
  checkWorld({ rank: 0, size: 1 }, detectLaunch({}));
  assert.throws(
    () => checkWorld({ rank: 0, size: 1 }, detectLaunch(SRUN_TASK)),
    (e: Error) =>
      e instanceof DistributedError &&
      /srun\) started this process as rank 1 of 2, but MPI sees rank 0 of 1/.test(e.message) &&
      /srun --mpi=pmix for Open MPI, --mpi=pmi2 for MPICH/.test(e.message),
  );
});

const skip = mpiUnavailable();
test(
  'an srun task whose MPI starts as a world of one (no PMI) stops with the --mpi advice instead of training alone',
  { skip: skip ?? false, timeout: 60_000 },
  () => {
    const script = `import('./src/train/distributed/index.js').then(({ openCommunicator }) => openCommunicator())
      .then((c) => console.log('opened', c.rank, c.size), (e) => { console.log(e.name + ': ' + e.message); process.exit(3); })`;
    // Only the variables the code reads: Open MPI's own Slurm support must not think a real srun ran.
    const env = { ...process.env, SLURM_PROCID: '1', SLURM_STEP_NUM_TASKS: '2', OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 50_000 });
    assert.equal(run.status, 3, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /DistributedError: the launcher \(srun\) started this process as rank 1 of 2, but MPI sees rank 0 of 1/);
  },
);
