// A rank's shard of the training data. The job's batch of `batchSize × size` examples is the one a
// single process with that batch would take (ExampleDataset.batches, in the Trainer's shuffled
// order of batches); rank r takes its examples r, r + size, r + 2·size, ... (torch's
// DistributedSampler: indices[rank::world]). Each shard carries its share of the job batch's loss
// items (loss-items.ts), which scales its gradient so that the ranks' sum is the whole batch's.
import type { Batch, IndexedBatches } from '../batches.js';
import type { ExampleDataset } from '../data/dataset.js';
import { DistributedError } from './errors.js';
import type { ItemCounter } from './loss-items.js';

const shares = new WeakMap<object, number>();

/** A rank's share of its job batch's loss items; undefined for a batch that is not a rank's shard. */
export function shareOf(batch: Batch): number | undefined {
  return shares.get(batch);
}

/** The batch of a rank whose shard of a short last batch holds no example: it takes no forward. */
export function isEmptyShard(batch: Batch): boolean {
  return shares.get(batch) === 0 && batch.inputIds === undefined && batch.labels === undefined;
}

export interface ShardOptions {
  /** Examples per rank and batch (HF's per-device batch size). */
  batchSize: number;
  rank: number;
  size: number;
  countItems: ItemCounter;
}

export function rankShards(
  dataset: ExampleDataset,
  { batchSize, rank, size, countItems }: ShardOptions,
): IndexedBatches<Batch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new DistributedError(`batch_size must be an integer > 0, not ${batchSize}`);
  const jobBatch = batchSize * size;
  return {
    length: Math.ceil(dataset.size / jobBatch),
    get(index: number): Batch {
      const start = index * jobBatch;
      const all = Array.from({ length: Math.min(jobBatch, dataset.size - start) }, (_, i) => start + i);
      const mine = all.filter((_, i) => i % size === rank);
      const total = all.reduce((s, i) => s + countItems(dataset.examples[i]!), 0);
      const own = mine.reduce((s, i) => s + countItems(dataset.examples[i]!), 0);
      const batch: Batch = mine.length > 0 ? (dataset.batch(mine) as Batch) : {};
      shares.set(batch, total === 0 ? 0 : own / total);
      return batch;
    },
  };
}
