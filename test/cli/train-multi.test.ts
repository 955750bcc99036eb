// `peft train` with a recipe of jobs (four methods on the GPT-2 fixture): each job's folder gets
// its adapter, metrics and report, and its adapter is the bytes a single run of the job writes; a
// run killed mid-way resumes every job to the bytes of an uninterrupted run; jobs are added and
// cancelled through the run's jobs/ folder; a job on another base is refused, named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ProgressBoard } from '../../src/cli/progress-board.js';
import { DATA, events, finished, HF, peft, start, tempDir } from './helpers.js';

const RECIPE = join(DATA, 'recipes/gpt2-multi.yaml');
const JOBS = ['lora', 'ia3', 'prompt', 'houlsby'];
const adapterBytes = (dir: string) => readFileSync(join(dir, 'adapter/adapter_model.safetensors'));

let whole: Promise<string> | undefined;
/** One uninterrupted run of the recipe (shared by the tests that compare with it). */
function wholeRun(): Promise<string> {
  whole ??= (async () => {
    const out = join(tempDir(), 'whole');
    const run = await peft('--json', 'train', RECIPE, '--output', out);
    assert.equal(run.code, EXIT.OK, run.stderr);
    const logs = events(run.stdout).filter((e) => e.event === 'log');
    assert.deepEqual(new Set(logs.map((e) => e.job)), new Set(JOBS), 'progress has a line per job');
    assert.equal(logs.filter((e) => e.job === 'houlsby').length, 4);
    return out;
  })();
  return whole;
}

test('train jobs: each job gets adapter/, metrics.jsonl and report.html; a job equals its single run byte for byte', async () => {
  const out = await wholeRun();
  for (const job of JOBS) {
    for (const file of ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'metrics.jsonl', 'report.html']) {
      assert.ok(existsSync(join(out, job, file)), `${job}/${file}`);
    }
  }
  // The lora job as a recipe of its own (the run's training defaults filled in).
  const single = join(tempDir(), 'single.yaml');
  writeFileSync(
    single,
    `model: ${join(HF, 'gpt2')}
method: { peft_type: LORA, r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: [c_attn, c_proj] }
data: { train: ${join(DATA, 'causal.jsonl')}, eval: ${join(DATA, 'causal.csv')}, format: text, max_length: 16 }
training: { max_steps: 9, lr: 0.01, seed: 7, batch_size: 4, logging_steps: 1, lr_scheduler: constant, save_steps: 3 }
output: ${join(tempDir(), 'single')}
`,
  );
  const alone = await peft('train', single);
  assert.equal(alone.code, EXIT.OK, alone.stderr);
  const singleOut = /adapter: (.*)\/adapter/.exec(alone.stdout)![1]!;
  assert.deepEqual(adapterBytes(join(out, 'lora')), adapterBytes(singleOut));
});

test('train jobs: training.gradient_checkpointing of the run checkpoints the shared base and gives every job the same adapter', async () => {
  const out = join(tempDir(), 'checkpointed');
  const run = await peft('train', RECIPE, '--output', out, '--set', 'training.gradient_checkpointing=true');
  assert.equal(run.code, EXIT.OK, run.stderr);
  const whole = await wholeRun();
  for (const job of JOBS) assert.deepEqual(adapterBytes(join(out, job)), adapterBytes(join(whole, job)), job);
});

test('train jobs: SIGKILL mid-run, then --resume, gives every job the adapter of an uninterrupted run', async () => {
  const cut = join(tempDir(), 'cut');
  const child = start(['train', RECIPE, '--output', cut, '--step-delay', '150']);
  const done = finished(child);
  while (!existsSync(join(cut, 'lora', 'checkpoint-3', 'trainer_state.json'))) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  assert.equal((await done).signal, 'SIGKILL');
  assert.ok(!existsSync(join(cut, 'lora', 'adapter')), 'the run finished before it was killed');
  const resumed = await peft('train', RECIPE, '--output', cut, '--resume');
  assert.equal(resumed.code, EXIT.OK, resumed.stderr);
  assert.match(resumed.stderr, /lora: 9 steps, resuming at step [36]/);
  const out = await wholeRun();
  for (const job of JOBS) assert.deepEqual(adapterBytes(join(cut, job)), adapterBytes(join(out, job)), `${job} after the resume`);
});

test('train jobs: a job file dropped into jobs/ joins the run, a .cancel file stops a job', async () => {
  const out = join(tempDir(), 'live');
  const child = start(['--json', 'train', RECIPE, '--output', out, '--step-delay', '100']);
  const done = finished(child);
  while (!existsSync(join(out, 'lora', 'checkpoint-3', 'trainer_state.json'))) await new Promise((r) => setTimeout(r, 20));
  writeFileSync(join(out, 'jobs', 'extra.yaml'), `name: extra\nmethod: { peft_type: LORA, r: 2 }\ndata: { train: ${join(DATA, 'causal.jsonl')}, format: text, max_length: 8 }\ntraining: { max_steps: 2 }\n`);
  writeFileSync(join(out, 'jobs', 'lora.cancel'), '');
  const run = await done;
  assert.equal(run.code, EXIT.OK, run.stderr);
  const result = events(run.stdout).find((e) => e.event === 'result')!;
  const jobs = result.jobs as Record<string, { status: string; step: number }>;
  assert.equal(jobs.extra!.status, 'done');
  assert.equal(jobs.extra!.step, 2);
  assert.ok(existsSync(join(out, 'extra', 'adapter', 'adapter_model.safetensors')));
  assert.equal(jobs.lora!.status, 'cancelled');
  assert.ok(jobs.lora!.step >= 3 && jobs.lora!.step < 9, `lora stopped at step ${jobs.lora!.step}`);
  assert.equal(jobs.ia3!.status, 'done');
});

test('train jobs: a job on another base model or quantization is refused before anything runs, naming it', async () => {
  const dir = tempDir();
  const recipe = join(dir, 'multi.yaml');
  const job = (name: string, model: string) =>
    `  - name: ${name}\n    model: ${model}\n    method: { peft_type: IA3 }\n    data: { train: ${join(DATA, 'causal.jsonl')}, format: text }\n`;
  writeFileSync(recipe, `model: ${join(HF, 'gpt2')}\njobs:\n${job('same', join(HF, 'gpt2'))}${job('other', join(HF, 'llama'))}output: ${join(dir, 'out')}\n`);
  const run = await peft('train', recipe);
  assert.equal(run.code, EXIT.INPUT);
  assert.match(run.stderr, /job 'other': model .*llama is not the run's model/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing was written');
  writeFileSync(recipe, `model: ${join(HF, 'gpt2')}\njobs:\n${job('same', join(HF, 'gpt2'))}${job('nf4', join(HF, 'gpt2'))}    quantization: { bits: 4 }\noutput: ${join(dir, 'out')}\n`);
  const quantized = await peft('train', recipe);
  assert.equal(quantized.code, EXIT.INPUT);
  assert.match(quantized.stderr, /job 'nf4': its quantization differs from the run's/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing was written');
});

test('the progress board keeps one line per job on a terminal, redrawn in place', () => {
  let text = '';
  const board = new ProgressBoard('bar', { write: (s: string) => (text += s) });
  const state = (step: number) => ({ globalStep: step, epoch: 0, maxSteps: 4, logHistory: [] });
  const a = board.job('a');
  const b = board.job('b');
  void a.onTrainBegin!(state(0), { shouldStop: false });
  void b.onTrainBegin!(state(0), { shouldStop: false });
  void a.onLog!({ step: 1, epoch: 0, loss: 2.5 }, state(1), { shouldStop: false });
  void b.onStep!(state(2), { shouldStop: false });
  // Replay the escapes: cursor up N lines, clear a line, newline.
  const ESC = String.fromCharCode(27);
  const screen: string[] = [];
  let row = 0;
  for (const piece of text.split(new RegExp(`(${ESC}\\[\\d+A|\r${ESC}\\[2K|\n)`))) {
    const up = new RegExp(`^${ESC}\\[(\\d+)A$`).exec(piece);
    if (up) row -= Number(up[1]);
    else if (piece === '\n') row++;
    else if (piece === `\r${ESC}[2K`) screen[row] = '';
    else if (piece !== '') screen[row] = (screen[row] ?? '') + piece;
  }
  const lines = screen.slice(0, row).filter((l) => l !== '');
  assert.equal(lines.filter((l) => l.startsWith('a: [')).length, 1, lines.join('\n'));
  assert.equal(lines.filter((l) => l.startsWith('b: [')).length, 1, lines.join('\n'));
  assert.match(lines.find((l) => l.startsWith('a: ['))!, /1\/4 .*loss 2\.5/);
  assert.match(lines.find((l) => l.startsWith('b: ['))!, /2\/4/);
});

test('train jobs: a job asking for gradient checkpointing the run does not have is refused, naming it', async () => {
  const dir = tempDir();
  const recipe = join(dir, 'multi.yaml');
  writeFileSync(
    recipe,
    `model: ${join(HF, 'gpt2')}\njobs:\n  - name: ckpt\n    method: { peft_type: IA3 }\n    data: { train: ${join(DATA, 'causal.jsonl')}, format: text }\n    training: { gradient_checkpointing: true }\noutput: ${join(dir, 'out')}\n`,
  );
  const run = await peft('train', recipe);
  assert.equal(run.code, EXIT.INPUT);
  assert.match(run.stderr, /job 'ckpt': gradient_checkpointing is the run's/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing was written');
});
