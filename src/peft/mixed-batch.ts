// Mixed-adapter batches: one adapter name per batch row (null for the base model), set for the
// length of one forward so that every tuner layer routes each row through its own adapter.
import { registerCheckpointContext, tensor, withGenerator, type Generator, type Tensor } from '../tensor/index.js';

/** Rows of the batch that share an adapter: `rows` is an int32 index tensor into dim 0. */
export interface RowGroup {
  adapter: string | null;
  rows: Tensor;
  /**
   * The group's own sequence length when the batch pads its rows further (concurrent training joins
   * batches of different lengths): its adapter then acts on these positions only, as it would on
   * the group's batch alone (a dropout mask depends on the element's place in the tensor).
   */
  length?: number;
  /** The group's first row: its rows are start, start + 1, ... when the routing is in order (RowRouting.inOrder). */
  start: number;
}

/** Per-adapter options of a mixed batch (concurrent training). */
export interface RoutingOptions {
  /** Each adapter's random stream (see RowRouting.generators). */
  generators?: ReadonlyMap<string, Generator>;
  /** Each adapter's own sequence length (see RowGroup.length). */
  lengths?: ReadonlyMap<string, number>;
}

/** The row groups of a mixed batch, and the permutation that puts group-ordered rows back in batch order. */
export interface RowRouting {
  groups: RowGroup[];
  /** Row i of the batch is row `restore[i]` of the groups' outputs concatenated in group order. */
  restore: Tensor;
  /** True when the groups are runs of consecutive rows in batch order (restore is the identity). */
  inOrder: boolean;
  /**
   * Random streams by adapter (concurrent training: each job's dropout draws from its own
   * generator, so it sees the masks it would see training alone); adapters without one draw from
   * the default generator.
   */
  generators?: ReadonlyMap<string, Generator>;
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

/** Runs `fn` (a group's adapter computation) drawing random numbers from the adapter's own stream, if the routing gives one. */
export function withAdapterRandom<T>(routing: RowRouting, adapter: string | null, fn: () => T): T {
  const generator = adapter === null ? undefined : routing.generators?.get(adapter);
  return generator === undefined ? fn() : withGenerator(generator, fn);
}

/** Runs `fn` with rows grouped by `adapterNames` (one entry per row). */
export function withAdapterNames<T>(adapterNames: readonly (string | null)[], fn: () => T, { generators, lengths }: RoutingOptions = {}): T {
  const byName = new Map<string | null, number[]>();
  adapterNames.forEach((name, row) => {
    const rows = byName.get(name) ?? [];
    rows.push(row);
    byName.set(name, rows);
  });
  const groups = [...byName].map(([adapter, rows]): RowGroup => {
    const length = adapter === null ? undefined : lengths?.get(adapter);
    return { adapter, rows: tensor(rows, [rows.length], 'int32'), start: rows[0]!, ...(length === undefined ? {} : { length }) };
  });
  const order = [...byName.values()].flat();
  const restore = new Array<number>(order.length);
  order.forEach((row, i) => (restore[row] = i));
  const previous = current;
  current = { groups, restore: tensor(restore, [restore.length], 'int32'), inOrder: order.every((row, i) => row === i), generators };
  // The row indices are not disposed here: a graph built in `fn` may need them in backward; the
  // enclosing tidy() scope frees them with the rest.
  try {
    return fn();
  } finally {
    current = previous;
  }
}

// A checkpointed segment (gradient checkpointing) recomputed in backward routes its rows as its
// forward did, each adapter drawing the random numbers it drew then (the same dropout masks).
registerCheckpointContext(() => {
  const routing = current;
  if (routing === null) return null;
  const generators = [...(routing.generators?.values() ?? [])];
  const states = generators.map((g) => g.getState());
  return (recompute) => {
    const resume = generators.map((g) => g.getState());
    generators.forEach((g, i) => g.setState(states[i]!));
    const previous = current;
    current = routing;
    try {
      return recompute();
    } finally {
      current = previous;
      generators.forEach((g, i) => g.setState(resume[i]!));
    }
  };
});
