// The data pipeline: files → rows → tokenised examples (cached) → padded batches.
export { loadDataset, tokenizerFingerprint, type LoadDatasetOptions, type LoadedDataset } from './load.js';
export { ExampleDataset } from './dataset.js';
export { collate, tokenCount, type CollateOptions } from './collate.js';
export { IGNORE_INDEX, type Example } from './example.js';
export { DATA_FORMATS, type DataFormat, type DataOptions, type FieldNames } from './formats/options.js';
export { dataFiles, readRows, DATA_EXTENSIONS } from './readers/read.js';
export type { DataRow, UnreadableRow } from './readers/row.js';
export { clearMemoryCache } from './cache.js';
export { DataError, BadRowError } from './errors.js';
