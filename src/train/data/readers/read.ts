// Reads a data file (.jsonl, .csv, .parquet) or a folder of them (sorted by name) into rows.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { DataError } from '../errors.js';
import { readCsv } from './csv.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';
import type { ReadResult } from './row.js';

export const DATA_EXTENSIONS = ['.jsonl', '.csv', '.parquet'] as const;

/** The data files `path` names: itself, or a folder's files with a known extension. */
export async function dataFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => {
    throw new DataError(`data path ${path} does not exist; give a ${DATA_EXTENSIONS.join(', ')} file or a folder of them`);
  });
  if (!info.isDirectory()) {
    checkExtension(path);
    return [path];
  }
  const names = (await readdir(path)).filter((n) => (DATA_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new DataError(`data folder ${path} holds no ${DATA_EXTENSIONS.join(', ')} file`);
  return names.map((n) => join(path, n));
}

function checkExtension(file: string): void {
  if (!(DATA_EXTENSIONS as readonly string[]).includes(extname(file).toLowerCase())) {
    throw new DataError(`${file}: unknown data format '${extname(file)}'; peftjs reads ${DATA_EXTENSIONS.join(', ')}`);
  }
}

/** Reads one file's bytes into rows. */
export async function readRows(file: string, bytes: Uint8Array): Promise<ReadResult> {
  checkExtension(file);
  const extension = extname(file).toLowerCase();
  if (extension === '.parquet') return readParquet(file, bytes);
  const text = new TextDecoder('utf-8').decode(bytes);
  return extension === '.csv' ? readCsv(file, text) : readJsonl(file, text);
}

/** The bytes of each file, read once (they are hashed for the cache and parsed on a miss). */
export async function readFiles(files: readonly string[]): Promise<Map<string, Uint8Array>> {
  return new Map(await Promise.all(files.map(async (f) => [f, new Uint8Array(await readFile(f))] as const)));
}
