// AdapterDrop's speed-up (Rücklé et al. 2021): one training step (forward, backward, SGD on the
// adapters) of a GPT-2 124M-shaped model (random weights) with Houlsby bottleneck adapters
// (reduction factor 16), batch 4 x 256, with the adapters of the lowest n = 0, 3, 6 layers dropped.
// Frozen, adapter-free lowest layers record no autograd graph, so backward stops above them.
// Usage: node --import tsx bench/adapter-drop.ts [--batch 4] [--seq 256] [--runs 3] [--drop 0,3,6]
import { GPT2LMHeadModel, getPeftModel, noGrad, randint, tidy, native } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';
import { time } from './lib/timing.js';
import { gpt2SmallConfig } from './lib/models.js';

const batch = Number(arg('batch') ?? 4);
const seq = Number(arg('seq') ?? 256);
const runs = Number(arg('runs') ?? 3);
const drops = (arg('drop') ?? '0,3,6').split(',').map(Number);
const reductionFactor = 16;
const config = gpt2SmallConfig();
const ids = randint(0, config.vocab_size, [batch, seq]);
let baseline = NaN;

for (const n of drops) {
  const model = getPeftModel(new GPT2LMHeadModel(config), {
    peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor, dropLowestLayers: n, taskType: 'CAUSAL_LM',
  }).train();
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  let loss = NaN;
  const step = () =>
    tidy(() => {
      const out = model.forward({ inputIds: ids, labels: ids });
      out.loss!.backward();
      // Plain SGD: the update of ~1M adapter weights is negligible next to the model's passes.
      noGrad(() => {
        for (const p of trainable) {
          p.copy_(p.sub(p.grad!.mul(1e-4)));
          p.grad!.dispose();
          p.grad = null;
        }
      });
      loss = out.loss!.item();
      return null;
    });
  const t = time(step, { warmup: 1, runs });
  const tokensPerS = (batch * seq) / t.median;
  if (n === 0) baseline = tokensPerS;
  emit('adapter_drop_train_step', {
    model: 'gpt2-124M', adapter: 'houlsby', reduction_factor: reductionFactor, dropped_layers: n, batch, seq, threads: native.numThreads(),
    trainable_params: trainable.reduce((k, p) => k + p.size, 0), loss: round(loss),
    seconds: round(t.median), min_seconds: round(t.min), tokens_per_s: round(tokensPerS), speedup_vs_n0: round(tokensPerS / baseline, 3),
  });
}
