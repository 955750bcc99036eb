// Plain text for causal LMs: each row's ids followed by EOS; packed into blocks of maxLength
// (the remainder becomes a last, shorter block), or one example per row cut to maxLength.
import type { PreTrainedTokenizer } from '../../../io/tokenizer/index.js';
import { DataError } from '../errors.js';
import type { Example } from '../example.js';
import { stringField } from './fields.js';
import { fieldName, type DataOptions } from './options.js';

export function textIds(values: Record<string, unknown>, tokenizer: PreTrainedTokenizer, options: DataOptions): number[] {
  const ids = tokenizer.encode(stringField(values, fieldName(options, 'text', 'text')));
  const eos = tokenizer.eosTokenId;
  return eos === null ? ids : [...ids, eos];
}

export function textExamples(rows: readonly number[][], options: DataOptions): Example[] {
  const maxLength = options.maxLength;
  if (options.packing ?? true) {
    if (maxLength === undefined) throw new DataError(`packing text needs maxLength (the block length), e.g. data.max_length: 128`);
    const stream = rows.flat();
    const blocks: Example[] = [];
    for (let start = 0; start < stream.length; start += maxLength) {
      const ids = stream.slice(start, start + maxLength);
      blocks.push({ inputIds: ids, labels: ids });
    }
    return blocks;
  }
  return rows.map((ids) => {
    const cut = maxLength === undefined ? ids : ids.slice(0, maxLength);
    return { inputIds: cut, labels: cut };
  });
}
