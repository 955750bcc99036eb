// PromptTuningConfig: HF PEFT 0.21's fields and defaults.
import { Fields, extraFields, type Json } from '../../config/base.js';
import { PeftConfigError } from '../../errors.js';
import { PROMPT_LEARNING_KEYS, readPromptLearning, writePromptLearning, type PromptLearningConfig } from '../config.js';

/** RANDOM: N(0, 1); SAMPLE_VOCAB: rows of random vocabulary tokens; TEXT: the embeddings of prompt_tuning_init_text. */
export const PROMPT_TUNING_INITS = ['RANDOM', 'SAMPLE_VOCAB', 'TEXT'] as const;

export interface PromptTuningConfig extends PromptLearningConfig {
  peftType: 'PROMPT_TUNING';
  promptTuningInit: (typeof PROMPT_TUNING_INITS)[number];
  promptTuningInitText: string | null;
  /** The tokenizer folder TEXT init tokenizes the text with. */
  tokenizerNameOrPath: string | null;
  tokenizerKwargs: Record<string, unknown> | null;
}

const KNOWN = [...PROMPT_LEARNING_KEYS, 'prompt_tuning_init', 'prompt_tuning_init_text', 'tokenizer_name_or_path', 'tokenizer_kwargs'];

export function parsePromptTuningConfig(raw: Json, path = 'adapter_config.json'): PromptTuningConfig {
  const f = new Fields(raw, path);
  const config: PromptTuningConfig = {
    ...readPromptLearning(f, 'PROMPT_TUNING'),
    peftType: 'PROMPT_TUNING',
    promptTuningInit: f.oneOf('prompt_tuning_init', PROMPT_TUNING_INITS, 'RANDOM'),
    promptTuningInitText: f.nullableString('prompt_tuning_init_text', null),
    tokenizerNameOrPath: f.nullableString('tokenizer_name_or_path', null),
    tokenizerKwargs: isObject(raw.tokenizer_kwargs) ? { ...raw.tokenizer_kwargs } : null,
    extra: extraFields(raw, KNOWN),
  };
  // HF's __post_init__ checks.
  if (config.promptTuningInit === 'TEXT' && (config.tokenizerNameOrPath === null || config.promptTuningInitText === null)) {
    throw new PeftConfigError(`${path}: prompt_tuning_init 'TEXT' needs prompt_tuning_init_text and tokenizer_name_or_path (the tokenizer folder); set both`);
  }
  if (config.tokenizerKwargs !== null && config.promptTuningInit !== 'TEXT') {
    throw new PeftConfigError(`${path}: tokenizer_kwargs is only used with prompt_tuning_init 'TEXT' (it is '${config.promptTuningInit}'); remove it`);
  }
  return config;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function writePromptTuningConfig(c: PromptTuningConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writePromptLearning(c),
    prompt_tuning_init: c.promptTuningInit,
    prompt_tuning_init_text: c.promptTuningInitText,
    tokenizer_name_or_path: c.tokenizerNameOrPath,
    tokenizer_kwargs: c.tokenizerKwargs,
  };
}
