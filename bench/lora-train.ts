// One LoRA training step (forward, backward, AdamW over the adapter only) of a GPT-2 124M-shaped
// model (random weights) with r = 16 on every block linear (c_attn, c_proj, c_fc), batch 4 x 256:
// tokens/s, GFLOP/s counted per step, and the fraction of the FMA peak measured in this process.
// The frozen base in float32, then in bf16 (LoRA weights stay float32). Anchors (../shared/anchors):
// PyTorch + OpenBLAS on the same 2 cores 161 tokens/s; HF PEFT on a newer Xeon 229 tokens/s.
// Usage: node --import tsx bench/lora-train.ts [--batch 4] [--seq 256] [--runs 3] [--dtype bfloat16] [--peak 204]
import { GPT2LMHeadModel, getPeftModel, native, type DType } from '../src/index.js';
import { lmTrainStep } from './lib/train-step.js';
import { arg, emit, round } from './lib/report.js';
import { measureFmaPeak } from './lib/peak.js';
import { time } from './lib/timing.js';
import { gpt2LoraTrainFlopsPerToken, gpt2SmallConfig } from './lib/models.js';

const batch = Number(arg('batch') ?? 4);
const seq = Number(arg('seq') ?? 256);
const runs = Number(arg('runs') ?? 3);
const rank = 16;
const config = gpt2SmallConfig();
const dtypes = (arg('dtype')?.split(',') ?? ['float32', 'bfloat16']) as DType[];
// The FMA peak measured here reads low while other processes share the cores; --peak gives the
// machine's figure measured when idle (e.g. 204 on the 2-core EPYC), and the higher one is used.
const measuredPeak = measureFmaPeak();
const peak = Math.max(measuredPeak, Number(arg('peak') ?? 0));

for (const dtype of dtypes) {
  const model = getPeftModel(new GPT2LMHeadModel(config, dtype), {
    peftType: 'LORA', r: rank, loraAlpha: 32, targetModules: ['c_attn', 'c_proj', 'c_fc'], taskType: 'CAUSAL_LM',
  }).train();
  const { step, loss, trainableParams } = lmTrainStep(model, config.vocab_size, batch, seq);
  // CPU seconds per step over the threads: near the wall time on an idle machine, and a steadier
  // figure than the wall time when other processes share the cores. Counted after the warm-up step,
  // whose first touch of every activation buffer costs seconds of page faults (system time) that
  // the later steps, reusing the pooled buffers, do not pay.
  step();
  const cpuStart = process.cpuUsage();
  const t = time(step, { warmup: 0, runs });
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 / runs / native.numThreads();
  const flops = gpt2LoraTrainFlopsPerToken(config, seq, rank) * batch * seq;
  emit('lora_train_step', {
    model: 'gpt2-124M', base_dtype: dtype, r: rank, batch, seq, threads: native.numThreads(),
    trainable_params: trainableParams, loss: round(loss()),
    seconds: round(t.median), min_seconds: round(t.min), tokens_per_s: round((batch * seq) / t.median),
    cpu_seconds_per_thread: round(cpuSeconds), tokens_per_cpu_s: round((batch * seq) / cpuSeconds),
    mflop_per_token: round(flops / batch / seq / 1e6), gflops: round(flops / t.median / 1e9),
    fma_peak_gflops: round(peak), measured_peak_gflops: round(measuredPeak), fraction_of_peak: round(flops / t.median / 1e9 / peak, 3),
  });
}
