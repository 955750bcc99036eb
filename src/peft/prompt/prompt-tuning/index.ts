// Prompt tuning (Lester et al. 2021) as a prompt-learning plug-in, registered under PROMPT_TUNING:
// trainable virtual-token embeddings prepended to the input embeddings.
import { registerTuner } from '../../tuners/registry.js';
import { resolveSizes } from '../config.js';
import { noInjection, type PromptLearningMethod } from '../method.js';
import { parsePromptTuningConfig, writePromptTuningConfig, type PromptTuningConfig } from './config.js';
import { PromptEmbedding } from './embedding.js';

export const promptTuning: PromptLearningMethod<PromptTuningConfig> = {
  peftType: 'PROMPT_TUNING',
  prefix: 'prompt_encoder',
  parseConfig: parsePromptTuningConfig,
  writeConfig: writePromptTuningConfig,
  inject: noInjection,
  promptLearning: {
    injects: 'embeddings',
    resolve: (config, model) => resolveSizes(config, model.config as unknown as Record<string, unknown>),
    createEncoder: (config, wordEmbeddings) => new PromptEmbedding(config, wordEmbeddings),
  },
};

registerTuner(promptTuning);

export { PromptEmbedding } from './embedding.js';
export { parsePromptTuningConfig, writePromptTuningConfig, PROMPT_TUNING_INITS, type PromptTuningConfig } from './config.js';
