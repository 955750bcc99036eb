// Batches of examples → ModelInputs: int64 [batch, length] tensors padded on one side, with the
// attention mask; LM labels padded with -100, class labels as [batch].
import { tensor } from '../../tensor/index.js';
import type { ModelInputs } from '../../models/outputs.js';
import { DataError } from './errors.js';
import { IGNORE_INDEX, type Example } from './example.js';

export interface CollateOptions {
  padTokenId: number;
  /** Where padding goes (default 'right'; decoders generating in batches want 'left'). */
  paddingSide?: 'left' | 'right';
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
}

export function collate(examples: readonly Example[], options: CollateOptions): ModelInputs {
  if (examples.length === 0) throw new DataError('collate needs at least one example');
  const lengthOf = (rows: readonly (readonly number[])[]) => {
    const longest = Math.max(...rows.map((r) => r.length));
    const multiple = options.padToMultipleOf ?? 1;
    return Math.ceil(longest / multiple) * multiple;
  };
  const matrix = (rows: readonly (readonly number[])[], fill: number, length: number, left = options.paddingSide === 'left') =>
    tensor(
      rows.flatMap((row) => {
        const padding: number[] = new Array<number>(length - row.length).fill(fill);
        return left ? [...padding, ...row] : [...row, ...padding];
      }),
      [rows.length, length],
      'int64',
    );
  const ids = examples.map((e) => e.inputIds);
  const length = lengthOf(ids);
  const inputs: ModelInputs = {
    inputIds: matrix(ids, options.padTokenId, length),
    attentionMask: matrix(ids.map((r) => r.map(() => 1)), 0, length),
  };
  if (examples[0]!.tokenTypeIds !== undefined) inputs.tokenTypeIds = matrix(examples.map((e) => e.tokenTypeIds ?? []), 0, length);
  const labels = examples.map((e) => e.labels);
  if (labels.every((l) => typeof l === 'number')) {
    inputs.labels = tensor(labels, [labels.length], 'int64');
  } else {
    const rows = labels.map((l) => (typeof l === 'number' ? [l] : l));
    // Causal labels align with the inputs; seq2seq targets have their own length and always end in padding.
    const aligned = examples.every((e) => Array.isArray(e.labels) && e.labels.length === e.inputIds.length);
    inputs.labels = aligned ? matrix(rows, IGNORE_INDEX, length) : matrix(rows, IGNORE_INDEX, lengthOf(rows), false);
  }
  return inputs;
}

/** Tokens in a batch that are not padding (for tokens/s). */
export function tokenCount(examples: readonly Example[]): number {
  return examples.reduce((sum, e) => sum + e.inputIds.length, 0);
}
