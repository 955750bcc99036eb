// Examples with random access and a collator: what a training loop draws its batches from.
import type { ModelInputs } from '../../models/outputs.js';
import { collate, tokenCount, type CollateOptions } from './collate.js';
import { DataError } from './errors.js';
import type { Example } from './example.js';

export class ExampleDataset {
  constructor(
    readonly examples: readonly Example[],
    readonly collateOptions: CollateOptions,
  ) {}

  get size(): number {
    return this.examples.length;
  }

  /** The batch of the examples at `indices`, as int64 tensors. */
  batch(indices: readonly number[]): ModelInputs {
    return collate(indices.map((i) => this.example(i)), this.collateOptions);
  }

  /**
   * The dataset cut into batches of `batchSize` consecutive examples (the last may be smaller),
   * indexable as the Trainer's IndexedBatches: it shuffles their order per epoch.
   */
  batches(batchSize: number): { readonly length: number; get(index: number): ModelInputs } {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new DataError(`batchSize must be an integer > 0, not ${batchSize}`);
    const range = (index: number) => Array.from({ length: Math.min(batchSize, this.size - index * batchSize) }, (_, i) => index * batchSize + i);
    return { length: Math.ceil(this.size / batchSize), get: (index) => this.batch(range(index)) };
  }

  /** Real (unpadded) tokens of the examples at `indices`. */
  tokens(indices: readonly number[]): number {
    return tokenCount(indices.map((i) => this.example(i)));
  }

  private example(index: number): Example {
    const example = this.examples[index];
    if (example === undefined) throw new DataError(`example ${index} is out of range: the dataset has ${this.size}`);
    return example;
  }
}
