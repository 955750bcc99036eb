// Prefix tuning (Li & Liang 2021) as a prompt-learning plug-in, registered under PREFIX_TUNING:
// trainable keys and values of virtual tokens entering every attention layer through the KV
// cache, with or without the MLP reparameterisation (prefix_projection). Without it this is
// P-tuning v2's deep prompt (Liu et al. 2022): see pTuningV2.
import { registerTuner } from '../../tuners/registry.js';
import { resolveSizes, type ResolvedPromptConfig } from '../config.js';
import { noInjection, type PromptLearningMethod } from '../method.js';
import { parsePrefixTuningConfig, writePrefixTuningConfig, type PrefixTuningConfig } from './config.js';
import { PrefixEncoder } from './encoder.js';

/**
 * HF's sizes for prefixes: with grouped-query attention the cached keys/values have
 * num_key_value_heads heads, so token_dim shrinks to head_dim · num_key_value_heads; then
 * encoder_hidden_size defaults to token_dim.
 */
function resolvePrefix(config: PrefixTuningConfig, modelConfig: Record<string, unknown>): ResolvedPromptConfig<PrefixTuningConfig> {
  const resolved = resolveSizes(config, modelConfig);
  const kvHeads = modelConfig.num_key_value_heads;
  if (config.tokenDim === null && typeof kvHeads === 'number') {
    resolved.tokenDim = (resolved.tokenDim / resolved.numAttentionHeads) * kvHeads;
    resolved.numAttentionHeads = kvHeads;
  }
  return { ...resolved, encoderHiddenSize: config.encoderHiddenSize ?? resolved.tokenDim };
}

export const prefixTuning: PromptLearningMethod<PrefixTuningConfig> = {
  peftType: 'PREFIX_TUNING',
  prefix: 'prompt_encoder',
  parseConfig: parsePrefixTuningConfig,
  writeConfig: writePrefixTuningConfig,
  inject: noInjection,
  promptLearning: {
    injects: 'keys-values',
    resolve: (config, model) => resolvePrefix(config, model.config as unknown as Record<string, unknown>),
    createEncoder: (config) => new PrefixEncoder({ ...config, encoderHiddenSize: config.encoderHiddenSize ?? config.tokenDim }),
  },
};

registerTuner(prefixTuning);

/**
 * P-tuning v2's deep prompts: prefix tuning without the reparameterisation, `numVirtualTokens`
 * trainable keys/values in every layer (use a SEQ_CLS or TOKEN_CLS task type for its
 * classification heads). Saved as HF's PREFIX_TUNING.
 */
export function pTuningV2(options: { numVirtualTokens: number; taskType?: string } & Record<string, unknown>): { peftType: 'PREFIX_TUNING' } & Record<string, unknown> {
  return { ...options, peftType: 'PREFIX_TUNING', prefixProjection: false };
}

export { PrefixEncoder } from './encoder.js';
export { seedPrefixCache, layerEntries, decoderEntries } from './past-key-values.js';
export { parsePrefixTuningConfig, writePrefixTuningConfig, type PrefixTuningConfig } from './config.js';
