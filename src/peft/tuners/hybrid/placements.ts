// Where the hybrids' parts go in each architecture: the attention module that gets the prefix
// (it reads keys and values from the KV cache) and the projections inside it that UniPELT's LoRA
// adapts (its query and value; GPT-2's fused c_attn, as HF PEFT's LoRA default for GPT-2). The
// feed-forward adapters take the bottleneck adapters' placements.
import type { Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { modelType } from '../../model-type.js';
import { findTargets } from '../../target.js';
import type { Targeting } from '../../config/targeting.js';
import { placementTargets } from '../bottleneck/placements.js';
import type { AdapterType } from '../bottleneck/config.js';

export interface AttentionPlacement {
  /** Regex for the end of the attention module's path. */
  attention: string;
  /** Child names (inside the attention module) of the query and value projections. */
  queryValue: string[];
}

const LLAMA: AttentionPlacement = { attention: 'self_attn', queryValue: ['q_proj', 'v_proj'] };
const BERT: AttentionPlacement = { attention: String.raw`attention\.self`, queryValue: ['query', 'value'] };

const ATTENTION: Record<string, AttentionPlacement> = {
  gpt2: { attention: 'attn', queryValue: ['c_attn'] },
  llama: LLAMA,
  qwen2: LLAMA,
  mistral: LLAMA,
  bert: BERT,
  roberta: BERT,
};

export function attentionPlacement(model: Module, peftType: string): AttentionPlacement {
  const type = modelType(model);
  const placement = ATTENTION[type];
  if (placement === undefined) {
    throw new TargetModulesError(`${peftType} knows no attention placement for model_type '${type}' (known: ${Object.keys(ATTENTION).join(', ')}); use one of those architectures`);
  }
  return placement;
}

export function isAttentionPath(path: string, placement: AttentionPlacement): boolean {
  return new RegExp(`^(?:.*\\.)?(?:${placement.attention})$`).test(path);
}

/** Every attention module and feed-forward adapter site of `model` the config's layers cover. */
export function hybridTargets(model: Module, config: Targeting, peftType: string, adapterType: AdapterType): string[] {
  const placement = attentionPlacement(model, peftType);
  // Every architecture with an attention placement has bottleneck placements too.
  const feedForward = placementTargets(modelType(model), adapterType);
  return findTargets(model, { ...config, targetModules: `(?:.*\\.)?(?:${placement.attention})|${feedForward}` });
}
