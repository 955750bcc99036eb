// Concurrent tuning: four jobs (LoRA r=8, LoRA r=64, (IA)3, prompt tuning with 8 virtual tokens)
// on a GPT-2 124M-shaped base (random weights, float32), trained together by MultiTrainer in one
// process against the same four jobs trained one after another, each alone in its own process
// (Trainer). Per-job batches of 1x128 and 4x256 tokens.
//   - wall time: the together run's steps against the sum of the four alone runs' steps (each
//     process's first step, its warm-up, left out of both); CPU seconds per thread beside it.
//     Targets: >= 1.2x faster at 1x128, never slower at 4x256.
//   - peak memory: the together process's peak RSS against the sum of the four alone processes'
//     (four separate processes, four copies of the base). Target <= 0.4x.
//   - equivalence: each job's adapter from the together run against its alone run (max relative
//     difference; the library's bound is 1e-5).
// Rounds alternate the order of the two so that machine noise hits both. --checkpointing 1 runs
// both sides with gradient checkpointing of the base's layers (the together run's option, each
// alone run's gradientCheckpointing), so the memory comparison is like for like.
// Usage: node --import tsx bench/multi-train.ts [--shapes 1x128,4x256] [--steps 4] [--rounds 2] [--threads 2] [--checkpointing 1]
//        (workers: --worker together|<job> --shape BxS --steps N --out DIR)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GPT2LMHeadModel, Generator, MultiAdapterModel, getPeftModel, loadSafetensors, native, randint, withGenerator,
} from '../src/index.js';
import { MultiTrainer, Trainer, type Batch, type TrainingArguments } from '../src/train/index.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';
import { JOBS, NAMES } from './lib/multi-jobs.js';

const threads = Number(arg('threads') ?? 2);
const steps = Number(arg('steps') ?? 4);
const checkpointing = arg('checkpointing') === '1';

/** What a worker reports: seconds and CPU seconds of its steps after the first, peak RSS. */
interface WorkerResult {
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

function shapeOf(text: string): [number, number] {
  const [b, s] = text.split('x').map(Number);
  return [b!, s!];
}

/** The job's batches: its own random tokens (labels = inputs), the same in every process. */
function jobData(name: string, batch: number, seq: number): Batch[] {
  const generator = new Generator(NAMES.indexOf(name) + 1);
  return Array.from({ length: steps }, () => {
    const ids = randint(0, 50257, [batch, seq], { generator, dtype: 'int64' });
    return { inputIds: ids, labels: ids };
  });
}

const jobArgs = (name: string): TrainingArguments => ({ maxSteps: steps, lr: 1e-3, loggingSteps: steps, shuffle: false, seed: NAMES.indexOf(name) + 1 });
const aloneArgs = (name: string): TrainingArguments => ({ ...jobArgs(name), gradientCheckpointing: checkpointing });

function base(): GPT2LMHeadModel {
  return withGenerator(new Generator(0), () => new GPT2LMHeadModel(gpt2SmallConfig()));
}

async function worker(kind: string, shape: string, out: string): Promise<WorkerResult> {
  native.setNumThreads(threads);
  const [batch, seq] = shapeOf(shape);
  const marks: [number, number][] = [];
  const mark = () => void marks.push([performance.now(), cpuNow()]);
  if (kind === 'together') {
    const multi = new MultiAdapterModel(base());
    const trainer = new MultiTrainer({
      model: multi,
      jobs: NAMES.map((name) => ({ name, config: JOBS[name], trainDataset: jobData(name, batch, seq), args: jobArgs(name) })),
      gradientCheckpointing: checkpointing,
    });
    // Before each joint step, and once more when all have ended: marks[1] is after the first step.
    await trainer.train({ beforeStep: mark });
    for (const name of NAMES) await multi.saveAdapter(name, join(out, `together-${name}`));
  } else {
    const peft = withGenerator(new Generator(NAMES.indexOf(kind) + 1), () => getPeftModel(base(), JOBS[kind]!));
    await new Trainer({ model: peft, trainDataset: jobData(kind, batch, seq), args: aloneArgs(kind), callbacks: [{ onStep: mark }] }).train();
    await peft.savePretrained(join(out, `alone-${kind}`));
    marks.unshift(marks[0]!); // onStep marks the end of each step: marks[1] (after the first) is the start
  }
  const first = marks[1]!;
  const last = marks.at(-1)!;
  return { seconds: (last[0] - first[0]) / 1000, cpuSeconds: last[1] - first[1], maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

function runWorker(kind: string, shape: string, out: string): WorkerResult {
  const run = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--worker', kind, '--shape', shape, '--steps', String(steps), '--threads', String(threads), '--checkpointing', checkpointing ? '1' : '0', '--out', out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`worker ${kind} ${shape} failed (exit ${run.status})`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as WorkerResult;
}

/** max |a - b| / max |b| over every tensor of two saved adapters. */
async function adapterDifference(a: string, b: string): Promise<number> {
  const [x, y] = [(await loadSafetensors(join(a, 'adapter_model.safetensors'))).tensors, (await loadSafetensors(join(b, 'adapter_model.safetensors'))).tensors];
  let diff = 0;
  let scale = 0;
  for (const [key, t] of y) {
    const u = t.toFlatArray();
    const v = x.get(key)!.toFlatArray();
    u.forEach((value, i) => {
      diff = Math.max(diff, Math.abs(value - v[i]!));
      scale = Math.max(scale, Math.abs(value));
    });
  }
  return diff / scale;
}

const workerKind = arg('worker');
if (workerKind !== undefined) {
  process.stdout.write(`${JSON.stringify(await worker(workerKind, arg('shape')!, arg('out')!))}\n`);
} else {
  const rounds = Number(arg('rounds') ?? 2);
  for (const shape of (arg('shapes') ?? '1x128,4x256').split(',')) {
    const out = mkdtempSync(join(tmpdir(), 'peftjs-multi-bench-'));
    const together: WorkerResult[] = [];
    const alone: WorkerResult[][] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) together.push(runWorker('together', shape, out));
      alone.push(NAMES.map((name) => runWorker(name, shape, out)));
      if (r % 2 === 1) together.push(runWorker('together', shape, out));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const togetherSeconds = median(together.map((t) => t.seconds));
    const aloneSeconds = median(alone.map((round) => sum(round.map((j) => j.seconds))));
    const togetherCpu = median(together.map((t) => t.cpuSeconds)) / threads;
    const aloneCpu = median(alone.map((round) => sum(round.map((j) => j.cpuSeconds)))) / threads;
    const togetherRss = Math.max(...together.map((t) => t.maxRssMb));
    const aloneRss = median(alone.map((round) => sum(round.map((j) => j.maxRssMb))));
    const differences = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await adapterDifference(join(out, `together-${n}`), join(out, `alone-${n}`))] as const)));
    const [batch, seq] = shapeOf(shape);
    emit('multi_train', {
      model: 'gpt2-124M', base_dtype: 'float32', jobs: NAMES.join(','), gradient_checkpointing: checkpointing, batch, seq, steps_timed: steps - 1, rounds, threads, simd: native.simdLevel(),
      together_seconds: round(togetherSeconds), alone_sequential_seconds: round(aloneSeconds), speedup: round(aloneSeconds / togetherSeconds),
      together_cpu_seconds_per_thread: round(togetherCpu), alone_cpu_seconds_per_thread: round(aloneCpu), cpu_speedup: round(aloneCpu / togetherCpu),
      together_peak_rss_mb: round(togetherRss), alone_processes_peak_rss_mb: round(aloneRss), memory_ratio: round(togetherRss / aloneRss),
      max_relative_difference: Object.fromEntries(Object.entries(differences).map(([k, v]) => [k, round(v, 3)])),
    });
    rmSync(out, { recursive: true, force: true });
  }
}
