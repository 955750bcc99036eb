// P-tuning (Liu et al. 2021) as a prompt-learning plug-in, registered under P_TUNING: virtual
// tokens prepended to the input embeddings, produced by an MLP or bidirectional-LSTM encoder.
import { registerTuner } from '../../tuners/registry.js';
import { resolveSizes } from '../config.js';
import { noInjection, type PromptLearningMethod } from '../method.js';
import { parsePTuningConfig, writePTuningConfig, type PTuningConfig } from './config.js';
import { PTuningPromptEncoder } from './encoder.js';

export const pTuning: PromptLearningMethod<PTuningConfig> = {
  peftType: 'P_TUNING',
  prefix: 'prompt_encoder',
  parseConfig: parsePTuningConfig,
  writeConfig: writePTuningConfig,
  inject: noInjection,
  promptLearning: {
    injects: 'embeddings',
    resolve: (config, model) => {
      const resolved = resolveSizes(config, model.config as unknown as Record<string, unknown>);
      return { ...resolved, encoderHiddenSize: config.encoderHiddenSize ?? resolved.tokenDim };
    },
    createEncoder: (config) => new PTuningPromptEncoder(config),
  },
};

registerTuner(pTuning);

export { PTuningPromptEncoder } from './encoder.js';
export { parsePTuningConfig, writePTuningConfig, REPARAMETERIZATION_TYPES, type PTuningConfig } from './config.js';
