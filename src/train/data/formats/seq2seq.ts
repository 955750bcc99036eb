// Sequence to sequence: the source is the encoder's input, the target (ending in EOS) the labels.
import type { PreTrainedTokenizer } from '../../../io/tokenizer/index.js';
import type { Example } from '../example.js';
import { stringField } from './fields.js';
import { fieldName, type DataOptions } from './options.js';

export function seq2seqExample(values: Record<string, unknown>, tokenizer: PreTrainedTokenizer, options: DataOptions): Example {
  const source = tokenizer.encode(stringField(values, fieldName(options, 'source', 'source')));
  const target = tokenizer.encode(stringField(values, fieldName(options, 'target', 'target')));
  const eos = tokenizer.eosTokenId;
  if (eos !== null && target.at(-1) !== eos) target.push(eos);
  const cut = (ids: number[]) => (options.maxLength === undefined ? ids : ids.slice(0, options.maxLength));
  return { inputIds: cut(source), labels: cut(target) };
}
