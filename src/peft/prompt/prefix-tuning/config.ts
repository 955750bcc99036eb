// PrefixTuningConfig: HF PEFT 0.21's fields and defaults. Without prefix_projection the trainable
// table holds every layer's keys and values directly: P-tuning v2's deep prompts.
import { Fields, extraFields, type Json } from '../../config/base.js';
import { PeftConfigError } from '../../errors.js';
import { PROMPT_LEARNING_KEYS, readPromptLearning, writePromptLearning, type PromptLearningConfig } from '../config.js';

export interface PrefixTuningConfig extends PromptLearningConfig {
  peftType: 'PREFIX_TUNING';
  /** Hidden width of the reparameterisation MLP (null: token_dim). */
  encoderHiddenSize: number | null;
  /** Reparameterise the prefixes through a two-layer tanh MLP (Li & Liang 2021) while training. */
  prefixProjection: boolean;
  /** 'zero': the table (or the MLP's last layer) starts at zero; null: torch's default init. */
  initWeights: 'zero' | null;
}

const KNOWN = [...PROMPT_LEARNING_KEYS, 'encoder_hidden_size', 'prefix_projection', 'init_weights'];

export function parsePrefixTuningConfig(raw: Json, path = 'adapter_config.json'): PrefixTuningConfig {
  const f = new Fields(raw, path);
  const init = f.nullableString('init_weights', null);
  if (init !== null && init !== 'zero') throw new PeftConfigError(`${path}: init_weights must be 'zero' or null, not ${JSON.stringify(init)}`);
  return {
    ...readPromptLearning(f, 'PREFIX_TUNING'),
    peftType: 'PREFIX_TUNING',
    encoderHiddenSize: f.nullableInt('encoder_hidden_size', null, 1),
    prefixProjection: f.bool('prefix_projection', false),
    initWeights: init,
    extra: extraFields(raw, KNOWN),
  };
}

export function writePrefixTuningConfig(c: PrefixTuningConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writePromptLearning(c),
    encoder_hidden_size: c.encoderHiddenSize,
    prefix_projection: c.prefixProjection,
    init_weights: c.initWeights,
  };
}
