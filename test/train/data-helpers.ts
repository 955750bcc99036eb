// Shared by the data tests: fixture paths and a tokenizer of the tiny HF fixtures.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { AutoTokenizer, type PreTrainedTokenizer } from '../../src/io/tokenizer/index.js';
import { loadDataset, type DataOptions, type LoadedDataset } from '../../src/train/data/index.js';

export const DATA = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
export const HF = fileURLToPath(new URL('../fixtures/hf/', import.meta.url));

export function tokenizerOf(model: string): Promise<PreTrainedTokenizer> {
  return AutoTokenizer.fromPretrained(join(HF, model));
}

/** Loads a fixture data file without the disk cache and without warnings on the console. */
export function load(file: string, tokenizer: PreTrainedTokenizer, options: DataOptions, warnings: string[] = []): Promise<LoadedDataset> {
  return loadDataset(join(DATA, file), tokenizer, { ...options, tokenizerKey: 'test', cacheDir: null, logger: { warn: (m) => warnings.push(m) } });
}
