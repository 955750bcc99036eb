// `mpirun -np N peft train`: N ranks × batch B/N give the adapter of one process with batch B
// (rows of different lengths, so each rank's share of the loss's tokens matters; gradient
// accumulation; a short last batch that leaves a rank without an example), and a run whose rank is
// killed stops with its checkpoints whole, then resumes with another number of ranks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors } from '../../src/io/index.js';
import { CACHE, DATA, HF, peft, tempDir } from '../cli/helpers.js';
import { mpirun, mpiUnavailable, rankPids } from './mpirun.js';

const skip = mpiUnavailable();

/** A LoRA recipe on the tiny GPT-2 over the 8 instruction rows (prompt tokens take no loss). */
function recipe(dir: string, training: Record<string, number>): string {
  const path = join(dir, 'recipe.yaml');
  const lines = Object.entries({
    max_steps: 3,
    lr: 0.01,
    logging_steps: 1,
    lr_scheduler: 'constant',
    seed: 3,
    ...training,
  }).map(([k, v]) => `  ${k}: ${v}`);
  writeFileSync(
    path,
    [
      `model: ${join(HF, 'gpt2')}`,
      'method: { peft_type: LORA, r: 4, lora_alpha: 8, target_modules: [c_attn, c_proj] }',
      `data: { train: ${join(DATA, 'instruction.jsonl')}, format: instruction, max_length: 24, cache_dir: ${CACHE} }`,
      'training:',
      ...lines,
      `output: ${join(dir, 'unused')}`,
    ].join('\n'),
  );
  return path;
}

async function adapter(out: string): Promise<Map<string, number[]>> {
  const { tensors } = await loadSafetensors(join(out, 'adapter', 'adapter_model.safetensors'));
  return new Map([...tensors].map(([k, t]) => [k, t.toFlatArray()]));
}

/** The largest |a - b| over a tensor, relative to the tensor's largest |a|, over all tensors. */
function maxRelativeDifference(a: Map<string, number[]>, b: Map<string, number[]>): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let worst = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    const scale = Math.max(...x.map(Math.abs));
    x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - y[i]!) / scale)));
  }
  return worst;
}

const train = (np: number, path: string, out: string, ...more: string[]) =>
  np === 1
    ? peft('train', path, '--output', out, ...more)
    : mpirun(np, ['src/cli/main.ts', 'train', path, '--output', out, ...more], { env: { PEFTJS_NUM_THREADS: '1' } });

test(
  '2 ranks × batch 2 and 4 ranks × batch 1 give the adapter of 1 rank × batch 4 (accumulation 2, across epochs)',
  { skip: skip ?? false },
  async () => {
    const dir = tempDir();
    const runs = await Promise.all(
      (
        [
          [1, 4],
          [2, 2],
          [4, 1],
        ] as const
      ).map(async ([np, batch]) => {
        const out = join(dir, `np${np}`);
        const run = await train(np, recipe(tempDir(), { batch_size: batch, gradient_accumulation_steps: 2 }), out);
        assert.equal(run.code, 0, run.stderr);
        return out;
      }),
    );
    const [one, ...parallel] = await Promise.all(runs.map(adapter));
    for (const p of parallel)
      assert.ok(maxRelativeDifference(one!, p) <= 1e-5, `max relative difference ${maxRelativeDifference(one!, p)}`);
    // The runs learned something (not three copies of the initial adapter: lora_B starts at zero).
    assert.ok([...one!].some(([k, v]) => k.includes('lora_B') && v.some((x) => x !== 0)));
    // Only rank 0 wrote: one metrics line per step, with the job's loss.
    const metrics = (out: string) =>
      readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: number; loss: number });
    const [m1, m2] = [metrics(runs[0]!), metrics(runs[1]!)];
    assert.deepEqual(
      m2.map((r) => r.step),
      [1, 2, 3],
    );
    m1.forEach((r, i) =>
      assert.ok(Math.abs(r.loss - m2[i]!.loss) < 1e-5 * r.loss, `step ${r.step}: loss ${r.loss} vs ${m2[i]!.loss}`),
    );
  },
);

test(
  '3 ranks × batch 1 equal 1 rank × batch 3 when the last batch leaves a rank without an example',
  { skip: skip ?? false },
  async () => {
    // 8 rows in batches of 3: the third step's batch has 2, so rank 2 has nothing to compute.
    const [one, three] = [join(tempDir(), 'one'), join(tempDir(), 'three')];
    const runs = await Promise.all([
      train(1, recipe(tempDir(), { batch_size: 3 }), one),
      train(3, recipe(tempDir(), { batch_size: 1 }), three),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.ok(maxRelativeDifference(await adapter(one), await adapter(three)) <= 1e-5);
  },
);

test(
  'a rank killed mid-run stops the job with its checkpoints whole; --resume with another rank count completes',
  { skip: skip ?? false },
  async () => {
    const dir = tempDir();
    const out = join(dir, 'run');
    const path = recipe(dir, { batch_size: 2, max_steps: 8, save_steps: 2 });
    const run = mpirun(2, ['src/cli/main.ts', 'train', path, '--output', out, '--step-delay', '400'], {
      env: { PEFTJS_NUM_THREADS: '1' },
    });
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(out, 'checkpoint-2')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(join(out, 'checkpoint-2')), 'no checkpoint within a minute');
    const [, rank1] = rankPids(run.pid, 2);
    process.kill(rank1!, 'SIGKILL');
    const stopped = await run;
    assert.notEqual(stopped.code, 0, 'mpirun succeeded although a rank was killed');
    assert.ok(!existsSync(join(out, 'adapter')), 'the run finished before the rank was killed');
    // Every checkpoint folder is complete (a partial one would still carry its temporary name).
    for (const name of readdirSync(out).filter((n) => n.startsWith('checkpoint-')))
      assert.ok(existsSync(join(out, name, 'trainer_state.json')), name);
    // One process, batch 2: half the examples per step of the 2-rank run; the data position is kept in examples.
    const resumed = await train(1, path, out, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming at step [2-8]/);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(existsSync(join(out, 'adapter', 'adapter_model.safetensors')));
  },
);
