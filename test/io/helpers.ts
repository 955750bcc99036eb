// Shared test helpers for src/io: fixture paths, temporary folders, hand-made safetensors bytes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

/** The Hugging Face reference fixtures (see test/fixtures/hf/README.md). */
export const FIXTURES = fileURLToPath(new URL('../fixtures/hf/', import.meta.url));

export const MODELS = ['gpt2', 'llama', 'qwen2', 'mistral', 'llama3rope', 'bert', 'roberta', 't5', 'vit'] as const;

/** A fresh temporary folder, removed when the test file ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-io-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A safetensors file from a header (object or raw JSON text, unpadded) and a data buffer. */
export function safetensorsBytes(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
