// loadDataset: data files → tokenised examples, through the cache.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PreTrainedTokenizer } from '../../io/tokenizer/index.js';
import { cacheKey, fromDisk, fromMemory, hashBytes, remember, toDisk } from './cache.js';
import { DataError } from './errors.js';
import type { DataOptions } from './formats/options.js';
import { dataFiles, readFiles, readRows } from './readers/read.js';
import type { DataRow, UnreadableRow } from './readers/row.js';
import { tokenizeRows, type TokenizedData } from './tokenize.js';

export interface LoadDatasetOptions extends DataOptions {
  /** Identifies the tokenizer's files in the cache key (tokenizerFingerprint(modelDir)). */
  tokenizerKey: string;
  /** Where the cache file goes (default: `.peftjs-cache` beside the data); null: memory only. */
  cacheDir?: string | null;
  /** Where skipped bad rows and cache problems are reported (default: console). */
  logger?: { warn(message: string): void };
}

export interface LoadedDataset extends TokenizedData {
  files: string[];
  /** Where the examples came from: this process's memory, the disk cache, or tokenising now. */
  source: 'memory' | 'disk' | 'tokenized';
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'chat_template.json'];

/** A hash of the tokenizer files in `dir` (those that exist). */
export async function tokenizerFingerprint(dir: string): Promise<string> {
  const parts = await Promise.all(TOKENIZER_FILES.map((name) => readFile(join(dir, name)).then(hashBytes, () => '')));
  return hashBytes(parts.join(','));
}

export async function loadDataset(path: string, tokenizer: PreTrainedTokenizer, options: LoadDatasetOptions): Promise<LoadedDataset> {
  const { tokenizerKey, cacheDir, logger = console, ...dataOptions } = options;
  const files = await dataFiles(path);
  const bytes = await readFiles(files);
  const key = cacheKey(bytes, tokenizerKey, { ...dataOptions, chatTemplate: tokenizer.chatTemplate, eos: tokenizer.eosTokenId });
  const dir = cacheDir === undefined ? join((await stat(path)).isDirectory() ? path : dirname(path), '.peftjs-cache') : cacheDir;
  const cached = fromMemory(key);
  if (cached !== undefined) return report({ ...cached, files, source: 'memory' }, logger);
  const saved = dir === null ? undefined : await fromDisk(dir, key);
  if (saved !== undefined) {
    remember(key, saved);
    return report({ ...saved, files, source: 'disk' }, logger);
  }
  const rows: DataRow[] = [];
  const unreadable: UnreadableRow[] = [];
  for (const file of files) {
    const read = await readRows(file, bytes.get(file)!);
    rows.push(...read.rows);
    unreadable.push(...read.unreadable);
  }
  const data = tokenizeRows(rows, unreadable, tokenizer, dataOptions);
  if (data.examples.length === 0) throw new DataError(`${path}: no usable example (${rows.length} rows read, ${data.skipped.length} bad)`);
  remember(key, data);
  if (dir !== null) {
    await toDisk(dir, key, data).catch((error: Error) => logger.warn(`tokenised data not cached in ${dir}: ${error.message}`));
  }
  return report({ ...data, files, source: 'tokenized' }, logger);
}

function report(data: LoadedDataset, logger: { warn(message: string): void }): LoadedDataset {
  if (data.skipped.length > 0) {
    logger.warn(`skipped ${data.skipped.length} bad row(s):\n${data.skipped.map((r) => `  ${r.where}: ${r.reason}`).join('\n')}`);
  }
  return data;
}
