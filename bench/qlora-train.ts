// QLoRA against LoRA over bf16 weights: one training step (forward, backward, AdamW over the adapter) of
// the same GPT-2 124M-shaped model (random weights, the same seed), r = 16 on c_attn, c_proj and c_fc,
// the base in bf16, and then with those block linears in NF4 + double quantisation (block 64) as
// fromPretrained(dir, { quantization }) makes them (the tied embedding / LM head stays bf16 in both).
// The two steps alternate run by run in one process; CPU seconds per thread beside the wall time.
// Target (issue 12): QLoRA <= 1.15x the LoRA step's time.
// Usage: node --import tsx bench/qlora-train.ts [--batch 1] [--seq 256] [--runs 3] [--layers 12]
import { GPT2LMHeadModel, getPeftModel, manualSeed, native } from '../src/index.js';
import { Linear4bit } from '../src/quant/index.js';
import { quantizableLinears } from '../src/quant/load.js';
import type { Conv1D, Linear } from '../src/nn/index.js';
import { lmTrainStep } from './lib/train-step.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';

const batch = Number(arg('batch') ?? 1);
const seq = Number(arg('seq') ?? 256);
const runs = Number(arg('runs') ?? 3);
const config = gpt2SmallConfig({ n_layer: Number(arg('layers') ?? 12) });
const threads = native.numThreads();

function model(quantised: boolean) {
  manualSeed(0);
  const base = new GPT2LMHeadModel(config, 'bfloat16');
  if (quantised) {
    for (const path of quantizableLinears(base, 'gpt2', null)) {
      const layer = base.getSubmodule(path) as Linear | Conv1D;
      base.setSubmodule(path, Linear4bit.fromLinear(layer, { quantType: 'nf4', blockSize: 64, doubleQuant: true }));
      layer.weight.dispose();
    }
  }
  const peft = getPeftModel(base, {
    peftType: 'LORA',
    r: 16,
    loraAlpha: 32,
    targetModules: ['c_attn', 'c_proj', 'c_fc'],
    taskType: 'CAUSAL_LM',
  });
  return lmTrainStep(peft.train(), config.vocab_size, batch, seq);
}

const variants = { lora_bf16: model(false), qlora_nf4: model(true) };
const samples: Record<string, { wall: number[]; cpu: number[] }> = {
  lora_bf16: { wall: [], cpu: [] },
  qlora_nf4: { wall: [], cpu: [] },
};
for (const v of Object.values(variants)) v.step(); // warm-up
for (let r = 0; r < runs; r++) {
  for (const [name, v] of Object.entries(variants)) {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    v.step();
    samples[name]!.wall.push(Number(process.hrtime.bigint() - start) / 1e9);
    const used = process.cpuUsage(cpu);
    samples[name]!.cpu.push((used.user + used.system) / 1e6 / threads);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const lora = { wall: median(samples.lora_bf16!.wall), cpu: median(samples.lora_bf16!.cpu) };
const qlora = { wall: median(samples.qlora_nf4!.wall), cpu: median(samples.qlora_nf4!.cpu) };
emit('qlora_train_step', {
  model: `gpt2-124M shape (${config.n_layer} layers)`,
  r: 16,
  batch,
  seq,
  threads,
  simd: native.simdLevel(),
  lora_bf16_s: round(lora.wall),
  qlora_nf4_s: round(qlora.wall),
  lora_bf16_cpu_s_per_thread: round(lora.cpu),
  qlora_nf4_cpu_s_per_thread: round(qlora.cpu),
  time_ratio: round(qlora.wall / lora.wall, 3),
  cpu_time_ratio: round(qlora.cpu / lora.cpu, 3),
  lora_loss: round(variants.lora_bf16.loss()),
  qlora_loss: round(variants.qlora_nf4.loss()),
  target: 'time_ratio <= 1.15',
});
