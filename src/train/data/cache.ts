// Tokenised data is made once per (data files' bytes, tokenizer, options): kept in memory for the
// process and in a JSON file on disk (written atomically) for the next run.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import type { TokenizedData } from './tokenize.js';

/** Bump when the cached examples' layout or the formats' output changes. */
const CACHE_VERSION = 1;
/** Datasets kept in memory (the most recently used). */
const MEMORY_ENTRIES = 8;
const memory = new Map<string, TokenizedData>();

export function hashBytes(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The cache key of tokenising `files` (path → bytes) with a tokenizer and options. */
export function cacheKey(files: ReadonlyMap<string, Uint8Array>, tokenizerKey: string, options: unknown): string {
  const parts = [...files].map(([path, bytes]) => [path, hashBytes(bytes)]);
  return hashBytes(JSON.stringify({ version: CACHE_VERSION, files: parts, tokenizer: tokenizerKey, options }));
}

export function fromMemory(key: string): TokenizedData | undefined {
  const hit = memory.get(key);
  if (hit !== undefined) remember(key, hit);
  return hit;
}

export function remember(key: string, data: TokenizedData): void {
  memory.delete(key);
  memory.set(key, data);
  while (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
}

const cacheFile = (dir: string, key: string) => join(dir, `tokens-${key.slice(0, 32)}.json`);

/** The cached data, or undefined when there is none or it is unreadable (then it is made anew). */
export async function fromDisk(dir: string, key: string): Promise<TokenizedData | undefined> {
  try {
    const saved = JSON.parse(await readFile(cacheFile(dir, key), 'utf8')) as { key: string; data: TokenizedData };
    return saved.key === key ? saved.data : undefined;
  } catch {
    return undefined;
  }
}

export async function toDisk(dir: string, key: string, data: TokenizedData): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(cacheFile(dir, key), JSON.stringify({ key, data }));
}

/** Forgets what this process has in memory (tests use it to reach the disk cache). */
export function clearMemoryCache(): void {
  memory.clear();
}
