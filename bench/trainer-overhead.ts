// Trainer overhead over a bare training loop: steps/s of Trainer.train() and of a hand-written loop
// doing the same work (forward, backward, clipping, AdamW, linear schedule) on the same small
// GPT-2-shaped LoRA model (random weights). Rounds alternate the two so machine noise hits both.
// Each step is timed (the Trainer's from one onStep to the next, so its whole loop counts) in CPU
// seconds of this process, on one kernel thread by default: a shared, loaded machine slows the wall
// clock by whole time slices, but CPU time only counts the work done. The figure is the median
// Trainer step over the median bare step, minus 1 (and the same for totals). Goal: ≤ 5%.
// Usage: node --import tsx bench/trainer-overhead.ts [--threads 1] [--steps 40] [--rounds 5] [--layers 4] [--width 256] [--batch 4] [--seq 64]
import { GPT2LMHeadModel, getPeftModel, manualSeed, randint, tidy, Generator, native, type PeftModel } from '../src/index.js';
import { AdamW, LRScheduler, Trainer, clipGradNorm, parameterGroups, type Batch } from '../src/train/index.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';

const steps = Number(arg('steps') ?? 40);
const rounds = Number(arg('rounds') ?? 5);
const batch = Number(arg('batch') ?? 4);
const seq = Number(arg('seq') ?? 64);
const config = gpt2SmallConfig({ n_layer: Number(arg('layers') ?? 4), n_embd: Number(arg('width') ?? 256), n_head: 4, vocab_size: 2048, n_positions: seq });
const lr = 1e-4;
native.setNumThreads(Number(arg('threads') ?? 1));

/** CPU seconds this process has used (all threads). */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function freshModel(): PeftModel {
  manualSeed(0);
  return getPeftModel(new GPT2LMHeadModel(config), { peftType: 'LORA', r: 8, loraAlpha: 16, targetModules: ['c_attn', 'c_proj', 'c_fc'], taskType: 'CAUSAL_LM' }).train();
}

const generator = new Generator(1);
const data: Batch[] = Array.from({ length: 8 }, () => {
  const ids = randint(0, config.vocab_size, [batch, seq], { generator });
  return { inputIds: ids, labels: ids };
});

/** Seconds of each Trainer step (its defaults: shuffling, clipping at 1, linear schedule, logging every 10 steps). */
async function trainerSteps(): Promise<number[]> {
  const times = [cpuSeconds()];
  const trainer = new Trainer({
    model: freshModel(), trainDataset: data, args: { lr, maxSteps: steps, loggingSteps: 10 }, callbacks: [{ onStep: () => void times.push(cpuSeconds()) }],
  });
  await trainer.train();
  return times.slice(2).map((t, i) => t - times[i + 1]!); // the first interval includes the run's set-up
}

/** Seconds of each step of the same work written by hand. */
function bareSteps(): number[] {
  const model = freshModel();
  const optimizer = new AdamW(parameterGroups(model, { lr }), { lr });
  const scheduler = new LRScheduler(optimizer, 'linear', { totalSteps: steps });
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  const times = [cpuSeconds()];
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const loss = model.forward(data[s % data.length]!).loss!;
      loss.item();
      loss.backward();
      return null;
    });
    clipGradNorm(trainable, 1);
    optimizer.step();
    scheduler.step();
    optimizer.zeroGrad();
    times.push(cpuSeconds());
  }
  return times.slice(2).map((t, i) => t - times[i + 1]!);
}

await trainerSteps(); // warm-up: page faults, pools, JIT
bareSteps();
const trainer: number[] = [];
const bare: number[] = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) trainer.push(...(await trainerSteps()));
  bare.push(...bareSteps());
  if (r % 2 === 1) trainer.push(...(await trainerSteps()));
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const total = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
emit('trainer_overhead', {
  model: `gpt2 ${config.n_layer}x${config.n_embd} LoRA r=8`, batch, seq, steps, rounds, threads: native.numThreads(),
  trainer_steps_per_cpu_s: round(1 / median(trainer)), bare_steps_per_cpu_s: round(1 / median(bare)),
  overhead_pct: round(100 * (median(trainer) / median(bare) - 1), 3),
  overhead_pct_of_totals: round(100 * (total(trainer) / total(bare) - 1), 3),
});
