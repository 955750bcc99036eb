// Padding a batch of encoded rows to one length, on the left or the right.
import type { Side } from './config.js';

/** One encoded sequence: ids, token type ids and attention mask, all the same length. */
export interface EncodedRow {
  ids: number[];
  typeIds: number[];
  mask: number[];
}

export interface PadRowsOptions {
  /** A fixed length, or the longest row of the batch. Rows already longer stay as they are. */
  length: number | 'longest';
  padToMultipleOf?: number | undefined;
  side: Side;
  padId: number;
  padTypeId: number;
}

export function padRows(rows: EncodedRow[], options: PadRowsOptions): EncodedRow[] {
  let length = options.length === 'longest' ? Math.max(0, ...rows.map((r) => r.ids.length)) : options.length;
  const multiple = options.padToMultipleOf ?? 0;
  if (multiple > 0 && length % multiple !== 0) length += multiple - (length % multiple);
  return rows.map((row) => {
    const n = length - row.ids.length;
    if (n <= 0) return row;
    const join = (values: number[], pad: number) => {
      const padding = new Array<number>(n).fill(pad);
      return options.side === 'right' ? [...values, ...padding] : [...padding, ...values];
    };
    return { ids: join(row.ids, options.padId), typeIds: join(row.typeIds, options.padTypeId), mask: join(row.mask, 0) };
  });
}
