// The four concurrent-tuning jobs of issue 14's benchmarks (bench/multi-train.ts, bench/multi-phases.ts):
// LoRA r=8, LoRA r=64, (IA)3 and prompt tuning with 8 virtual tokens, on a GPT-2 124M-shaped base.
import type { ConfigInput } from '../../src/index.js';

export const JOBS: Record<string, ConfigInput> = {
  lora8: { peftType: 'LORA', r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['c_attn'], taskType: 'CAUSAL_LM' },
  lora64: { peftType: 'LORA', r: 64, loraAlpha: 128, loraDropout: 0.05, targetModules: ['c_attn', 'c_proj', 'c_fc'], taskType: 'CAUSAL_LM' },
  ia3: { peftType: 'IA3', taskType: 'CAUSAL_LM' },
  prompt: { peftType: 'PROMPT_TUNING', numVirtualTokens: 8, taskType: 'CAUSAL_LM' },
};

export const NAMES = Object.keys(JOBS);
