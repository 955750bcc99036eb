// Where a joint step of concurrent tuning spends its time against the same jobs' steps one at a
// time, in one process on one shared base (GPT-2 124M shape, random weights): the four jobs of
// bench/multi-train.ts (LoRA r=8, LoRA r=64, (IA)3, prompt tuning). Each round runs the joint step
// (every job's batch through the base together), each job's step alone through the same code
// (one job) and each job's step as a Trainer runs it alone (its own PeftModel and base: peft_alone,
// timed whole), alternating their order, and times each phase in wall and CPU seconds:
//   base_forward (the base's layers), heads (each job's LM head, loss and the head's backward),
//   base_backward (the backward through the base's layers).
// The optimizer is left out (it is per job and the same either way).
// Session 8 (1x128, checkpointing, load ~11): the joint step's base GEMMs at M = 544 cost about what
// the four jobs' at M = 128/136 cost (~155 GFLOP/s per CPU second either way: the streamed small-M
// path is as efficient as the packed one here), so a joint step saves little beyond what padding
// and row routing give back; see the closing note.
// Usage: node --import tsx bench/multi-phases.ts [--shape 1x128] [--rounds 3] [--threads 2] [--checkpointing 1]
import {
  Generator, GPT2LMHeadModel, MultiAdapterModel, copyInto, getPeftModel, native, randint, tidy, withGenerator, zerosLike,
} from '../src/index.js';
import { forwardBase } from '../src/peft/concurrent/index.js';
import { enableGradientCheckpointing } from '../src/train/memory.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';
import { JOBS, NAMES } from './lib/multi-jobs.js';

const threads = Number(arg('threads') ?? 2);
const rounds = Number(arg('rounds') ?? 3);
const [batch, seq] = (arg('shape') ?? '1x128').split('x').map(Number) as [number, number];
const PHASES = ['base_forward', 'heads', 'base_backward'] as const;
type Phase = (typeof PHASES)[number];

native.setNumThreads(threads);
const model = new MultiAdapterModel(withGenerator(new Generator(0), () => new GPT2LMHeadModel(gpt2SmallConfig())));
for (const [i, name] of NAMES.entries()) withGenerator(new Generator(i + 1), () => model.addAdapter(name, JOBS[name]!));
// Each job alone as a Trainer runs it: its own PeftModel on its own copy of the base.
const peft = new Map(NAMES.map((name, i) => [name, withGenerator(new Generator(i + 1), () => getPeftModel(withGenerator(new Generator(0), () => new GPT2LMHeadModel(gpt2SmallConfig())), JOBS[name]!))]));
if (arg('checkpointing') === '1') [model.model, ...[...peft.values()].map((p) => p.model)].forEach((m) => enableGradientCheckpointing(m));
const generators = new Map(NAMES.map((name, i) => [name, new Generator(i + 1)]));
const ids = new Map(NAMES.map((name, i) => [name, randint(0, 50257, [batch, seq], { generator: new Generator(i + 1), dtype: 'int64' })]));

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Adds the wall and CPU seconds of fn to totals[phase]. */
function timed<T>(totals: Map<Phase, [number, number]>, phase: Phase, fn: () => T): T {
  const [w, c] = [performance.now(), cpuNow()];
  const out = fn();
  const [tw, tc] = totals.get(phase) ?? [0, 0];
  totals.set(phase, [tw + (performance.now() - w) / 1000, tc + cpuNow() - c]);
  return out;
}

/** One step of `names` together, as MultiTrainer's joint step runs it. */
function step(names: readonly string[], totals: Map<Phase, [number, number]>): void {
  tidy(() => {
    const batches = names.map((adapter) => ({ adapter, batch: { inputIds: ids.get(adapter)!, labels: ids.get(adapter)! } }));
    const joint = timed(totals, 'base_forward', () => forwardBase(model, batches, generators));
    const hiddenGrad = zerosLike(joint.hidden);
    timed(totals, 'heads', () => {
      names.forEach((_, i) =>
        tidy(() => {
          const own = joint.rows(i).detach().requiresGrad_();
          joint.head(i, own).loss!.backward();
          copyInto(joint.rows(i, hiddenGrad), own.grad!);
          own.grad!.dispose();
        }),
      );
    });
    timed(totals, 'base_backward', () => joint.hidden.backward(hiddenGrad));
  });
  for (const name of names) for (const [, p] of model.adapterParameters(name)) p.grad = null;
}

/** One step of job `name` alone: its PeftModel's forward with labels and the loss's backward, timed whole (wall, CPU). */
function peftStep(name: string, totals: [number, number]): void {
  const [w, c] = [performance.now(), cpuNow()];
  tidy(() => peft.get(name)!.forward({ inputIds: ids.get(name)!, labels: ids.get(name)! }).loss!.backward());
  totals[0] += (performance.now() - w) / 1000;
  totals[1] += cpuNow() - c;
  for (const p of peft.get(name)!.parameters()) p.grad = null;
}

const together = new Map<Phase, [number, number]>();
const alone = new Map<Phase, [number, number]>();
const peftAlone: [number, number] = [0, 0];
step(NAMES, new Map()); // warm-up
for (const name of NAMES) step([name], new Map());
for (const name of NAMES) peftStep(name, [0, 0]);
for (let r = 0; r < rounds; r++) {
  const runAlone = () => NAMES.forEach((name) => step([name], alone));
  const runPeft = () => NAMES.forEach((name) => peftStep(name, peftAlone));
  if (r % 2 === 1) {
    runAlone();
    runPeft();
  }
  step(NAMES, together);
  if (r % 2 === 0) {
    runPeft();
    runAlone();
  }
}
const per = (m: Map<Phase, [number, number]>, k: 0 | 1) => Object.fromEntries(PHASES.map((p) => [p, round(m.get(p)![k] / rounds)]));
const total = (m: Map<Phase, [number, number]>, k: 0 | 1) => round(PHASES.reduce((s, p) => s + m.get(p)![k], 0) / rounds);
emit('multi_phases', {
  model: 'gpt2-124M', jobs: NAMES.join(','), batch, seq, checkpointing: arg('checkpointing') === '1', rounds, threads, simd: native.simdLevel(),
  together_seconds: per(together, 0), alone_seconds: per(alone, 0), together_cpu_seconds: per(together, 1), alone_cpu_seconds: per(alone, 1),
  together_total_cpu: total(together, 1), alone_total_cpu: total(alone, 1), peft_alone_total_cpu: round(peftAlone[1] / rounds),
  together_total_wall: total(together, 0), alone_total_wall: total(alone, 0), peft_alone_total_wall: round(peftAlone[0] / rounds),
});
