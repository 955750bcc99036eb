// Forward + backward of a 12-layer, 768-wide transformer block stack (GPT-2 blocks, all weights
// trainable, batch 4 x 256), as GFLOP/s and a fraction of the FMA peak measured in this process.
// Usage: node --import tsx bench/transformer.ts [--batch 4] [--seq 256]
import { GPT2Model, randn, tidy, native } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';
import { measureFmaPeak } from './lib/peak.js';
import { time } from './lib/timing.js';
import { gpt2ForwardFlopsPerToken, gpt2SmallConfig } from './lib/models.js';

const batch = Number(arg('batch') ?? 4);
const seq = Number(arg('seq') ?? 256);
const config = gpt2SmallConfig({ vocab_size: 8 });
const stack = new GPT2Model(config).train();
const x = randn([batch, seq, config.n_embd], { std: 0.1 });

const step = () =>
  tidy(() => {
    stack.forward({ inputsEmbeds: x }).lastHiddenState.square().mean().backward();
    for (const p of stack.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    return null;
  });
const t = time(step, { warmup: 1, runs: 3 });
// Backward costs twice the forward when every weight trains (input and weight gradients);
// causal attention does half the T x T work.
const flops = 3 * gpt2ForwardFlopsPerToken(config, seq / 2, false) * batch * seq;
const peak = measureFmaPeak();
emit('transformer_stack_train_step', {
  layers: config.n_layer, width: config.n_embd, batch, seq, threads: native.numThreads(),
  seconds: round(t.median), tokens_per_s: round((batch * seq) / t.median), gflops: round(flops / t.median / 1e9),
  fma_peak_gflops: round(peak), fraction_of_peak: round(flops / t.median / 1e9 / peak, 3),
});
