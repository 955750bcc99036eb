// Fields every prompt-learning config has (HF PEFT's PromptLearningConfig): how many virtual
// tokens, and the base model's sizes (token_dim, num_layers, num_attention_heads,
// num_transformer_submodules), which HF fills from the model's config when the adapter is added.
import { Fields, readBase, writeBase } from '../config/base.js';
import type { PeftConfig } from '../config/peft-config.js';
import { PeftConfigError } from '../errors.js';

export interface PromptLearningConfig extends PeftConfig {
  /** Virtual tokens per transformer submodule (≥ 1). */
  numVirtualTokens: number;
  /** The model's hidden size (null until the adapter meets its model). */
  tokenDim: number | null;
  /** 2 for encoder-decoder models (SEQ_2_SEQ_LM), else 1; null until the adapter meets its model. */
  numTransformerSubmodules: number | null;
  numAttentionHeads: number | null;
  numLayers: number | null;
}

/** The sizes filled in: what an adapter added to a model has. */
export type ResolvedPromptConfig<C extends PromptLearningConfig = PromptLearningConfig> = C & {
  tokenDim: number;
  numTransformerSubmodules: number;
  numAttentionHeads: number;
  numLayers: number;
};

export const PROMPT_LEARNING_KEYS = ['num_virtual_tokens', 'token_dim', 'num_transformer_submodules', 'num_attention_heads', 'num_layers', 'modules_to_save'];

export function readPromptLearning(f: Fields, peftType: string): Omit<PromptLearningConfig, 'extra'> {
  const base = readBase(f, peftType);
  const nullableSize = (name: string) => f.nullableInt(name, null, 1);
  return {
    ...base,
    targetModules: null,
    excludeModules: null,
    layersToTransform: null,
    layersPattern: null,
    numVirtualTokens: f.int('num_virtual_tokens', 20, 1),
    tokenDim: nullableSize('token_dim'),
    numTransformerSubmodules: nullableSize('num_transformer_submodules'),
    numAttentionHeads: nullableSize('num_attention_heads'),
    numLayers: nullableSize('num_layers'),
    modulesToSave: f.raw.modules_to_save === null || f.raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
  };
}

export function writePromptLearning(c: PromptLearningConfig): Record<string, unknown> {
  return {
    ...writeBase(c),
    num_virtual_tokens: c.numVirtualTokens,
    token_dim: c.tokenDim,
    num_transformer_submodules: c.numTransformerSubmodules,
    num_attention_heads: c.numAttentionHeads,
    num_layers: c.numLayers,
    modules_to_save: c.modulesToSave,
  };
}

/** The first of `keys` the model config has as a number. */
function firstNumber(modelConfig: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const key of keys) if (typeof modelConfig[key] === 'number') return modelConfig[key];
  return undefined;
}

/**
 * HF's _prepare_prompt_learning_config: sizes the config leaves null come from the model's config
 * (num_hidden_layers / num_layers / n_layer, hidden_size / n_embd / d_model, num_attention_heads /
 * n_head / num_heads), and num_transformer_submodules from the task.
 */
export function resolveSizes<C extends PromptLearningConfig>(config: C, modelConfig: Record<string, unknown>): ResolvedPromptConfig<C> {
  const need = (value: number | null, keys: readonly string[], field: string): number => {
    const v = value ?? firstNumber(modelConfig, keys);
    if (v === undefined) {
      throw new PeftConfigError(`${config.peftType}: the model config has none of ${keys.join(', ')}; set ${field} in the adapter config`);
    }
    return v;
  };
  return {
    ...config,
    numLayers: need(config.numLayers, ['num_hidden_layers', 'num_layers', 'n_layer'], 'num_layers'),
    tokenDim: need(config.tokenDim, ['hidden_size', 'n_embd', 'd_model'], 'token_dim'),
    numAttentionHeads: need(config.numAttentionHeads, ['num_attention_heads', 'n_head', 'num_heads'], 'num_attention_heads'),
    numTransformerSubmodules: config.numTransformerSubmodules ?? (config.taskType === 'SEQ_2_SEQ_LM' ? 2 : 1),
  };
}
