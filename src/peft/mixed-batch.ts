// Mixed-adapter batches: one adapter name per batch row (null for the base model), set for the
// length of one forward so that every tuner layer routes each row through its own adapter.
import { tensor, type Tensor } from '../tensor/index.js';

/** Rows of the batch that share an adapter: `rows` is an int32 index tensor into dim 0. */
export interface RowGroup {
  adapter: string | null;
  rows: Tensor;
}

/** The row groups of a mixed batch, and the permutation that puts group-ordered rows back in batch order. */
export interface RowRouting {
  groups: RowGroup[];
  /** Row i of the batch is row `restore[i]` of the groups' outputs concatenated in group order. */
  restore: Tensor;
}

let current: RowRouting | null = null;

/** The row groups of the forward under way, or null when every row uses the active adapters. */
export function currentRowGroups(): RowGroup[] | null {
  return current?.groups ?? null;
}

/** How rows are routed in the forward under way, or null when every row uses the active adapters. */
export function currentRouting(): RowRouting | null {
  return current;
}

/** Runs `fn` with rows grouped by `adapterNames` (one entry per row). */
export function withAdapterNames<T>(adapterNames: readonly (string | null)[], fn: () => T): T {
  const byName = new Map<string | null, number[]>();
  adapterNames.forEach((name, row) => {
    const rows = byName.get(name) ?? [];
    rows.push(row);
    byName.set(name, rows);
  });
  const groups = [...byName].map(([adapter, rows]) => ({ adapter, rows: tensor(rows, [rows.length], 'int32') }));
  const order = [...byName.values()].flat();
  const restore = new Array<number>(order.length);
  order.forEach((row, i) => (restore[row] = i));
  const previous = current;
  current = { groups, restore: tensor(restore, [restore.length], 'int32') };
  // The row indices are not disposed here: a graph built in `fn` may need them in backward; the
  // enclosing tidy() scope frees them with the rest.
  try {
    return fn();
  } finally {
    current = previous;
  }
}
