// What a batch call returns: rows of ids and masks as lists, or as [batch, length] integer tensors.
import { tensor } from '../../tensor/ops/create-ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { TokenizerError } from './errors.js';
import type { EncodedRow } from './padding.js';

export interface BatchEncoding<T> {
  inputIds: T;
  attentionMask: T;
  /** Present when asked for (returnTokenTypeIds), or when the model takes them (BERT-like tokenizers). */
  tokenTypeIds?: T;
}

/** The integer dtype of returned tensors. */
export type IdDType = 'int64' | 'int32';

export function toLists(rows: EncodedRow[], withTypeIds: boolean): BatchEncoding<number[][]> {
  const out: BatchEncoding<number[][]> = { inputIds: rows.map((r) => r.ids), attentionMask: rows.map((r) => r.mask) };
  if (withTypeIds) out.tokenTypeIds = rows.map((r) => r.typeIds);
  return out;
}

function matrix(rows: number[][], dtype: IdDType): Tensor {
  return tensor(rows.flat(), [rows.length, rows[0]?.length ?? 0], dtype);
}

export function toTensors(lists: BatchEncoding<number[][]>, dtype: IdDType): BatchEncoding<Tensor> {
  const lengths = new Set(lists.inputIds.map((r) => r.length));
  if (lengths.size > 1) {
    throw new TokenizerError(
      'E_RAGGED_BATCH',
      `returnTensors needs rows of one length, but they have ${[...lengths].sort((x, y) => x - y).join(', ')} tokens; pass padding: true (or truncation with maxLength)`,
    );
  }
  const out: BatchEncoding<Tensor> = { inputIds: matrix(lists.inputIds, dtype), attentionMask: matrix(lists.attentionMask, dtype) };
  if (lists.tokenTypeIds) out.tokenTypeIds = matrix(lists.tokenTypeIds, dtype);
  return out;
}
