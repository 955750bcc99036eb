// The padding and truncation options of a call, resolved the way transformers resolves them
// (PreTrainedTokenizerBase._get_padding_truncation_strategies).
import { TokenizerError } from './errors.js';
import { LARGE_INTEGER } from './config.js';
import type { TruncationStrategy } from './truncation.js';

export type Padding = boolean | 'longest' | 'max_length' | 'do_not_pad';
export type Truncation = boolean | TruncationStrategy | 'do_not_truncate';

export interface Strategies {
  padding: 'do_not_pad' | 'longest' | 'max_length';
  truncation: TruncationStrategy | null;
  maxLength: number | undefined;
}

const PADDINGS = ['longest', 'max_length', 'do_not_pad'];
const TRUNCATIONS = ['longest_first', 'only_first', 'only_second', 'do_not_truncate'];

function checkLength(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `${name} must be a non-negative integer; got ${value}`);
  }
}

/**
 * `padding: true` pads to the longest row ('max_length' to maxLength); `truncation: true` is 'longest_first'.
 * Without maxLength, 'max_length' padding and truncation use the tokenizer's model_max_length, or do nothing
 * when it sets none. A maxLength with neither padding nor a truncation setting turns on 'longest_first'
 * (transformers' backward-compatible rule).
 */
export function resolveStrategies(
  padding: Padding,
  truncation: Truncation | undefined,
  maxLength: number | undefined,
  padToMultipleOf: number | undefined,
  modelMaxLength: number,
): Strategies {
  if (typeof padding !== 'boolean' && !PADDINGS.includes(padding)) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `padding must be true, false, 'longest', 'max_length' or 'do_not_pad'; got ${JSON.stringify(padding)}`);
  }
  if (truncation === undefined) truncation = maxLength !== undefined && padding === false ? 'longest_first' : false;
  if (typeof truncation !== 'boolean' && !TRUNCATIONS.includes(truncation)) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `truncation must be true, false, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate'; got ${JSON.stringify(truncation)}`);
  }
  checkLength('maxLength', maxLength);
  checkLength('padToMultipleOf', padToMultipleOf);
  const out: Strategies = {
    padding: padding === true ? 'longest' : padding === false ? 'do_not_pad' : padding,
    truncation: truncation === true ? 'longest_first' : truncation === false || truncation === 'do_not_truncate' ? null : truncation,
    maxLength,
  };
  const limited = modelMaxLength <= LARGE_INTEGER;
  if (maxLength === undefined) {
    if (out.padding === 'max_length') {
      if (limited) out.maxLength = modelMaxLength;
      else out.padding = 'do_not_pad';
    }
    if (out.truncation !== null) {
      if (limited) out.maxLength = modelMaxLength;
      else out.truncation = null;
    }
  }
  if (out.truncation !== null && out.padding !== 'do_not_pad' && padToMultipleOf && out.maxLength !== undefined && out.maxLength % padToMultipleOf !== 0) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `truncation and padding are both on but the truncation length (${out.maxLength}) is not a multiple of padToMultipleOf (${padToMultipleOf})`);
  }
  return out;
}
