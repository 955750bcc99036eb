// End to end through the command on the tiny GPT-2 fixture: training lowers the loss, the adapter
// reproduces the logged eval loss, a run killed mid-way resumes to the same adapter bits, and bad
// inputs (existing output, a model folder without weights) are refused with their exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { events, finished, HF, peft, RECIPE, start, tempDir } from './helpers.js';

const metricsOf = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const adapterBytes = (dir: string) => readFileSync(join(dir, 'adapter/adapter_model.safetensors'));
const CHECKPOINTED = ['--set', 'training.save_steps=4', '--max-steps', '12'];

test('train: loss goes down, metrics.jsonl and report are written, the adapter reproduces the logged eval loss', async () => {
  const out = join(tempDir(), 'run');
  const run = await peft('--json', 'train', RECIPE, '--output', out);
  assert.equal(run.code, EXIT.OK, run.stderr);
  const logs = events(run.stdout).filter((e) => e.event === 'log');
  assert.equal(logs.length, 12);
  const losses = metricsOf(out).filter((r) => r.loss !== undefined).map((r) => r.loss!);
  assert.ok(losses.slice(-3).reduce((a, b) => a + b) < losses.slice(0, 3).reduce((a, b) => a + b), `loss did not go down: ${losses.join(', ')}`);
  assert.ok(existsSync(join(out, 'report.html')));
  const logged = metricsOf(out).filter((r) => r.evalLoss !== undefined).at(-1)!.evalLoss!;
  const evaluated = await peft('--json', 'eval', '--model', join(HF, 'gpt2'), '--adapter', join(out, 'adapter'), '--data', 'test/fixtures/data/causal.csv', '--format', 'text', '--max-length', '16', '--batch-size', '4');
  assert.equal(evaluated.code, EXIT.OK, evaluated.stderr);
  const result = events(evaluated.stdout).find((e) => e.event === 'result')!;
  assert.ok(Math.abs((result.evalLoss as number) - logged) < 1e-5, `eval loss ${String(result.evalLoss)} vs logged ${logged}`);
});

test('train: SIGKILL mid-run, then --resume, gives the same adapter as an uninterrupted run', async () => {
  const dir = tempDir();
  const whole = await peft('train', RECIPE, '--output', join(dir, 'whole'), ...CHECKPOINTED);
  assert.equal(whole.code, EXIT.OK, whole.stderr);
  const cut = join(dir, 'cut');
  const child = start(['train', RECIPE, '--output', cut, ...CHECKPOINTED, '--step-delay', '150']);
  const done = finished(child);
  while (!existsSync(join(cut, 'checkpoint-4', 'trainer_state.json')) && !existsSync(join(cut, 'checkpoint-8'))) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  assert.equal((await done).signal, 'SIGKILL');
  assert.ok(!existsSync(join(cut, 'adapter')), 'the run finished before it was killed');
  const refused = await peft('train', RECIPE, '--output', cut, ...CHECKPOINTED);
  assert.equal(refused.code, EXIT.INPUT);
  assert.match(refused.stderr, /exists and is not empty; pass --overwrite .* --resume/);
  const resumed = await peft('train', RECIPE, '--output', cut, ...CHECKPOINTED, '--resume');
  assert.equal(resumed.code, EXIT.OK, resumed.stderr);
  assert.match(resumed.stderr, /resuming at step [48]/);
  assert.deepEqual(adapterBytes(cut), adapterBytes(join(dir, 'whole')));
  const steps = metricsOf(cut).filter((r) => r.loss !== undefined).map((r) => r.step);
  assert.deepEqual(steps, [...Array(12).keys()].map((i) => i + 1), 'metrics.jsonl repeats or misses steps after the resume');
});

test('train: --overwrite replaces an existing output folder', async () => {
  const out = join(tempDir(), 'run');
  cpSync(join(HF, 'gpt2', 'config.json'), join(out, 'stale.json'), { recursive: true });
  const run = await peft('train', RECIPE, '--output', out, '--max-steps', '1', '--overwrite');
  assert.equal(run.code, EXIT.OK, run.stderr);
  assert.ok(!existsSync(join(out, 'stale.json')));
});

test('train: a model folder without weights is a clear error (exit 3)', async () => {
  const model = join(tempDir(), 'model');
  cpSync(join(HF, 'gpt2'), model, { recursive: true });
  rmSync(join(model, 'model.safetensors'));
  const run = await peft('train', RECIPE, '--model', model, '--output', join(tempDir(), 'out'));
  assert.equal(run.code, EXIT.INPUT);
  assert.match(run.stderr, /model folder .* has no weights: neither model\.safetensors nor model\.safetensors\.index\.json/);
});

test('train: bad data rows name file:line and exit 3; on_bad_row: skip trains on the rest', async () => {
  const args = ['train', RECIPE, '--data', 'test/fixtures/data/bad.jsonl', '--max-steps', '1', '--output'];
  const fatal = await peft(...args, join(tempDir(), 'out'));
  assert.equal(fatal.code, EXIT.INPUT);
  assert.match(fatal.stderr, /bad\.jsonl:2: not valid JSON/);
  const skipped = await peft(...args, join(tempDir(), 'out'), '--set', 'data.on_bad_row=skip');
  assert.equal(skipped.code, EXIT.OK, skipped.stderr);
  assert.match(skipped.stderr, /skipped 3 bad row\(s\)/);
});
