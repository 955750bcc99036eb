// PromptEncoderConfig (P-tuning): HF PEFT 0.21's fields and defaults.
import { Fields, extraFields, type Json } from '../../config/base.js';
import { PROMPT_LEARNING_KEYS, readPromptLearning, writePromptLearning, type PromptLearningConfig } from '../config.js';

export const REPARAMETERIZATION_TYPES = ['MLP', 'LSTM'] as const;

export interface PTuningConfig extends PromptLearningConfig {
  peftType: 'P_TUNING';
  encoderReparameterizationType: (typeof REPARAMETERIZATION_TYPES)[number];
  /** Hidden width of the prompt encoder (null: token_dim). */
  encoderHiddenSize: number | null;
  /** LSTM layers (the MLP always has HF's three linear layers). */
  encoderNumLayers: number;
  encoderDropout: number;
}

const KNOWN = [...PROMPT_LEARNING_KEYS, 'encoder_reparameterization_type', 'encoder_hidden_size', 'encoder_num_layers', 'encoder_dropout'];

export function parsePTuningConfig(raw: Json, path = 'adapter_config.json'): PTuningConfig {
  const f = new Fields(raw, path);
  return {
    ...readPromptLearning(f, 'P_TUNING'),
    peftType: 'P_TUNING',
    encoderReparameterizationType: f.oneOf('encoder_reparameterization_type', REPARAMETERIZATION_TYPES, 'MLP'),
    encoderHiddenSize: f.nullableInt('encoder_hidden_size', null, 1),
    encoderNumLayers: f.int('encoder_num_layers', 2, 1),
    encoderDropout: f.probability('encoder_dropout', 0),
    extra: extraFields(raw, KNOWN),
  };
}

export function writePTuningConfig(c: PTuningConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writePromptLearning(c),
    encoder_reparameterization_type: c.encoderReparameterizationType,
    encoder_hidden_size: c.encoderHiddenSize,
    encoder_num_layers: c.encoderNumLayers,
    encoder_dropout: c.encoderDropout,
  };
}
