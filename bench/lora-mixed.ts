// Mixed-adapter batches: a batch of 16 through 8 LoRA adapters at once (two rows each, routed per
// layer in one pass) against the same batch through one adapter, GPT-2 124M shape, r = 16 on every
// linear layer. HF PEFT is 6.4x slower mixed; the target is 1.2x or less.
// Usage: node --import tsx bench/lora-mixed.ts [--seq 64] [--adapters 8] [--batch 16]
import { GPT2LMHeadModel, getPeftModel, noGrad, randint, tidy, native, type ModelInputs } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';
import { time } from './lib/timing.js';
import { gpt2SmallConfig } from './lib/models.js';

const seq = Number(arg('seq') ?? 64);
const adapters = Number(arg('adapters') ?? 8);
const batch = Number(arg('batch') ?? 16);
const config = gpt2SmallConfig();
const lora = (r: number) => ({ peftType: 'LORA', r, loraAlpha: 2 * r, targetModules: ['c_attn', 'c_proj', 'c_fc'], initLoraWeights: false });

const peft = getPeftModel(new GPT2LMHeadModel(config), lora(16), 'adapter0');
for (let i = 1; i < adapters; i++) peft.addAdapter(`adapter${i}`, lora(16));
peft.eval();

const inputIds = randint(0, config.vocab_size, [batch, seq]);
const run = (inputs: ModelInputs & { adapterNames?: string[] }) => () => tidy(() => noGrad(() => peft.forward(inputs).logits));
const single = time(run({ inputIds }), { warmup: 1, runs: 5 });
const names = Array.from({ length: batch }, (_, row) => `adapter${row % adapters}`);
const mixed = time(run({ inputIds, adapterNames: names }), { warmup: 1, runs: 5 });

emit('lora_mixed_forward', {
  model: 'gpt2-124M', r: 16, adapters, batch, seq, threads: native.numThreads(),
  single_adapter_s: round(single.median), mixed_s: round(mixed.median), mixed_over_single: round(mixed.median / single.median, 3),
  tokens_per_s_mixed: round((batch * seq) / mixed.median),
});
