// Merging and unmerging a LoRA adapter (r = 16) into every linear layer of a GPT-2 124M-shaped
// model: per layer ΔW = s·B·A (2·r·in·out FLOPs) and W ← W ± ΔW (reading and writing W).
// Usage: node --import tsx bench/lora-merge.ts [--r 16]
import { GPT2LMHeadModel, getPeftModel, native } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';
import { time } from './lib/timing.js';
import { gpt2SmallConfig } from './lib/models.js';

const r = Number(arg('r') ?? 16);
const peft = getPeftModel(new GPT2LMHeadModel(gpt2SmallConfig()), {
  peftType: 'LORA', r, loraAlpha: 2 * r, targetModules: ['c_attn', 'c_proj', 'c_fc'], initLoraWeights: false,
});
const layers = peft.base_model.tunerLayers();
const weights = layers.reduce((n, [, l]) => n + l.base_layer.weight.size, 0);
const flops = layers.reduce((n, [, l]) => n + 2 * r * l.inFeatures * l.outFeatures, 0);

const merge = time(() => peft.mergeAdapter(), { warmup: 0, runs: 1 });
const unmerge = time(() => peft.unmergeAdapter(), { warmup: 0, runs: 1 });
const safe = time(() => peft.mergeAdapter({ safeMerge: true }), { warmup: 0, runs: 1 });
peft.unmergeAdapter();

emit('lora_merge', {
  model: 'gpt2-124M', r, layers: layers.length, weights_m: round(weights / 1e6), threads: native.numThreads(),
  merge_s: round(merge.median), unmerge_s: round(unmerge.median), safe_merge_s: round(safe.median),
  delta_gflops: round(flops / 1e9), merge_gb_per_s: round((weights * 4 * 2) / merge.median / 1e9),
});
