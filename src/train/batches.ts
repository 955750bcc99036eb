// What the Trainer reads: batches of model inputs, from an array, anything indexable with a
// length (which can be shuffled), or any (async) iterable (read in order). Data loaders and
// collators (src/train/data) produce these.
import { Generator, randperm } from '../tensor/index.js';
import type { ModelInputs } from '../models/index.js';

/** One batch: the model's inputs (labels included); extra fields are passed through to forward. */
export type Batch = ModelInputs & Record<string, unknown>;

/** Random access to batches: shuffled per epoch by the Trainer. */
export interface IndexedBatches<B = Batch> {
  readonly length: number;
  get(index: number): B | Promise<B>;
}

export type BatchSource<B = Batch> = readonly B[] | IndexedBatches<B> | Iterable<B> | AsyncIterable<B>;

function isIndexed<B>(source: BatchSource<B>): source is readonly B[] | IndexedBatches<B> {
  return Array.isArray(source) || typeof (source as IndexedBatches<B>).get === 'function';
}

/** The number of batches, when the source knows it. */
export function batchCount(source: BatchSource<unknown>): number | undefined {
  return isIndexed(source) ? source.length : undefined;
}

/**
 * The order of an epoch's batches: a permutation drawn from a generator seeded with seed + epoch
 * (the same on every run and after a resume, with nothing to save), or 0, 1, ... unshuffled.
 */
export function epochOrder(count: number, epoch: number, seed: number, shuffle: boolean): number[] {
  if (!shuffle) return Array.from({ length: count }, (_, i) => i);
  const perm = randperm(count, { generator: new Generator(seed + epoch), dtype: 'int32' });
  const order = perm.toFlatArray();
  perm.dispose();
  return order;
}

/** The epoch's batches from position `start` on, with their positions. */
export async function* epochBatches<B>(
  source: BatchSource<B>,
  epoch: number,
  start: number,
  { seed, shuffle }: { seed: number; shuffle: boolean },
): AsyncGenerator<[number, B]> {
  if (isIndexed(source)) {
    const order = epochOrder(source.length, epoch, seed, shuffle);
    for (let i = start; i < order.length; i++) {
      yield [i, Array.isArray(source) ? (source as readonly B[])[order[i]!]! : await (source as IndexedBatches<B>).get(order[i]!)];
    }
    return;
  }
  let i = 0;
  for await (const batch of source as AsyncIterable<B>) {
    if (i >= start) yield [i, batch];
    i++;
  }
}
