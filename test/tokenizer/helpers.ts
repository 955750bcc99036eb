// Shared test helpers for the tokenizer: fixture folders and the probes transformers recorded for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Tokenizers made by test/fixtures/tokenizer/make_fixtures.py, one per family, each with expected.json. */
export const TOKENIZERS = fileURLToPath(new URL('../fixtures/tokenizer/', import.meta.url));
/** The Hugging Face reference fixtures (test/fixtures/hf/README.md). */
export const HF = fileURLToPath(new URL('../fixtures/hf/', import.meta.url));

export const FAMILIES = ['bytelevel', 'wordpiece', 'metaspace', 'unigram', 'chatml', 'chatml-files'] as const;
export type Family = (typeof FAMILIES)[number];

/** One recorded call and what transformers returned (or the error it raised). */
export interface Probe {
  op: 'info' | 'encode' | 'tokenize' | 'decode' | 'convert_ids_to_tokens' | 'call' | 'chat';
  expected: unknown;
  [key: string]: unknown;
}

export function readProbes(family: Family): Probe[] {
  const file = JSON.parse(readFileSync(join(TOKENIZERS, family, 'expected.json'), 'utf8')) as { probes: Probe[] };
  return file.probes;
}

export function readJSON<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
