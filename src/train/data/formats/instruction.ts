// Instruction tuning: prompt then response (then EOS); the loss is taken on the response only.
import type { PreTrainedTokenizer } from '../../../io/tokenizer/index.js';
import { IGNORE_INDEX, type Example } from '../example.js';
import { stringField } from './fields.js';
import { fieldName, type DataOptions } from './options.js';

export function instructionExample(values: Record<string, unknown>, tokenizer: PreTrainedTokenizer, options: DataOptions): Example {
  const prompt = tokenizer.encode(stringField(values, fieldName(options, 'prompt', 'prompt')));
  const response = tokenizer.encode(stringField(values, fieldName(options, 'response', 'response')), { addSpecialTokens: false });
  const eos = tokenizer.eosTokenId;
  if (eos !== null) response.push(eos);
  return maskedExample([[prompt, false], [response, true]], options.maxLength);
}

/** Concatenates segments; labels copy the ids of segments that take the loss, -100 elsewhere. */
export function maskedExample(segments: readonly (readonly [number[], boolean])[], maxLength: number | undefined): Example {
  const inputIds = segments.flatMap(([ids]) => ids);
  const labels = segments.flatMap(([ids, trained]) => (trained ? ids : ids.map(() => IGNORE_INDEX)));
  const end = maxLength ?? inputIds.length;
  return { inputIds: inputIds.slice(0, end), labels: labels.slice(0, end) };
}
