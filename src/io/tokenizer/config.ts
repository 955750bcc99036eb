// tokenizer_config.json -> the settings transformers 5 reads from it (PreTrainedTokenizerBase.__init__).
import { TokenizerError } from './errors.js';

/** The named special tokens, in the order transformers lists them (SPECIAL_TOKENS_ATTRIBUTES). */
export const SPECIAL_TOKEN_NAMES = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

/** One template, or named templates ("default", "tool_use", ...). */
export type ChatTemplates = string | Record<string, string>;

export type Side = 'left' | 'right';

export interface TokenizerSettings {
  /** Named and model-specific special tokens (`bos_token`, ..., `image_token`), in transformers' order. */
  specialTokens: Map<string, string>;
  /** `extra_special_tokens` (formerly `additional_special_tokens`). */
  extraSpecialTokens: string[];
  paddingSide: Side;
  truncationSide: Side;
  /** transformers' VERY_LARGE_INTEGER (1e30) when the config sets none; above 1e20 it means "no limit". */
  modelMaxLength: number;
  modelInputNames: string[];
  cleanUpTokenizationSpaces: boolean;
  /** transformers skips the clean-up for BPE models unless this is set. */
  cleanUpForBpe: boolean;
  chatTemplate: ChatTemplates | null;
}

export const VERY_LARGE_INTEGER = 1e30;
export const LARGE_INTEGER = 1e20;

// Class attributes that differ from PreTrainedTokenizerBase's defaults, for the classes a config names
// (transformers 5.18; a legacy "...Fast" name means the same class).
const TOKEN_TYPE_CLASSES = ['Bert', 'Canine', 'DPRQuestionEncoder', 'Deberta', 'DebertaV2', 'FNet', 'LayoutLMv2', 'Lxmert', 'MarkupLM', 'MobileBert', 'Tapas'];
const LEFT_PADDING_CLASSES = ['CodeLlama', 'Cohere', 'Gemma', 'Llama', 'Siglip2', 'XLNet'];

function classDefaults(tokenizerClass: unknown): { paddingSide: Side; modelInputNames: string[] } {
  const name = typeof tokenizerClass === 'string' ? tokenizerClass.replace(/Fast$/, '').replace(/Tokenizer$/, '') : '';
  return {
    paddingSide: LEFT_PADDING_CLASSES.includes(name) ? 'left' : 'right',
    modelInputNames: TOKEN_TYPE_CLASSES.includes(name)
      ? ['input_ids', 'token_type_ids', 'attention_mask']
      : ['input_ids', 'attention_mask'],
  };
}

/** A special token as configs write it: a string, or an AddedToken object with `content`. */
export function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

function side(config: Record<string, unknown>, key: string, fallback: Side, source: string): Side {
  const value = config[key] ?? fallback;
  if (value !== 'left' && value !== 'right') {
    throw new TokenizerError('E_TOKENIZER_FILE', `${source}: ${key} is ${JSON.stringify(value)}; it must be "left" or "right"`);
  }
  return value;
}

function chatTemplates(value: unknown, source: string): ChatTemplates | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named: Record<string, string> = {};
    for (const entry of value) {
      const { name, template } = (entry ?? {}) as { name?: unknown; template?: unknown };
      if (typeof name !== 'string' || typeof template !== 'string') {
        throw new TokenizerError('E_TOKENIZER_FILE', `${source}: chat_template list entries must be {"name": string, "template": string}`);
      }
      named[name] = template;
    }
    return named;
  }
  throw new TokenizerError('E_TOKENIZER_FILE', `${source}: chat_template must be a string or a list of {name, template}`);
}

/** Reads the settings out of a parsed tokenizer_config.json (special_tokens_map.json already merged in). */
export function readTokenizerSettings(config: Record<string, unknown>, source = 'tokenizer_config.json'): TokenizerSettings {
  const defaults = classDefaults(config.tokenizer_class);
  const specialTokens = new Map<string, string>();
  for (const name of SPECIAL_TOKEN_NAMES) {
    const content = tokenContent(config[name]);
    if (content !== null) specialTokens.set(name, content);
  }
  // Any other "*_token" string is a model-specific special token (image_token, ...), as are the entries of a dict
  // `extra_special_tokens`; a list `extra_special_tokens` holds unnamed ones.
  const extra = config.extra_special_tokens ?? config.additional_special_tokens;
  const named = Array.isArray(extra) ? {} : ((extra ?? {}) as Record<string, unknown>);
  for (const [key, value] of [...Object.entries(config), ...Object.entries(named)]) {
    const content = tokenContent(value);
    if (key.endsWith('_token') && !specialTokens.has(key) && content !== null) specialTokens.set(key, content);
  }
  const extraSpecialTokens = Array.isArray(extra) ? extra.map(tokenContent).filter((t): t is string => t !== null) : [];
  const maxLength = config.model_max_length ?? config.max_len;
  const inputNames = config.model_input_names;
  return {
    specialTokens,
    extraSpecialTokens,
    paddingSide: side(config, 'padding_side', defaults.paddingSide, source),
    truncationSide: side(config, 'truncation_side', 'right', source),
    modelMaxLength: typeof maxLength === 'number' ? maxLength : VERY_LARGE_INTEGER,
    modelInputNames: Array.isArray(inputNames) ? inputNames.map(String) : defaults.modelInputNames,
    cleanUpTokenizationSpaces: config.clean_up_tokenization_spaces === true,
    cleanUpForBpe: config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true,
    chatTemplate: chatTemplates(config.chat_template, source),
  };
}
