// A fixture model folder copied to a temp dir with its weights and config.json changed: how the
// loading tests make the checkpoints HF users meet (a base model's, another head's, a broken one).
import type { TestContext } from 'node:test';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, type Tensor } from '../../src/index.js';
import { FIXTURES } from '../helpers/parity.js';

export interface Derivation {
  /** Which checkpoint tensors to keep (default all). */
  keep?: (key: string) => boolean;
  /** New names for the kept tensors (default unchanged). */
  rename?: (key: string) => string;
  /** Tensors to add (another head's, say). */
  add?: Record<string, Tensor>;
  /** config.json fields to set. */
  config?: Record<string, unknown>;
}

/** A copy of fixture `name` changed as `derivation` says; removed when the test ends. */
export async function derivedCheckpoint(t: TestContext, name: string, derivation: Derivation = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `peftjs-${name}-`));
  t.after(() => rm(dir, { recursive: true }));
  await cp(join(FIXTURES, name), dir, { recursive: true });
  const { keep = () => true, rename = (k: string) => k, add = {}, config = {} } = derivation;
  const weights = join(dir, 'model.safetensors');
  const tensors = (await loadSafetensors(weights)).tensors;
  const derived = new Map([...tensors].filter(([k]) => keep(k)).map(([k, v]) => [rename(k), v] as const));
  for (const [k, v] of Object.entries(add)) derived.set(k, v);
  await saveSafetensors(weights, derived);
  const configPath = join(dir, 'config.json');
  const json = JSON.parse(await readFile(configPath, 'utf8'));
  await writeFile(configPath, JSON.stringify({ ...json, ...config }));
  return dir;
}

/** A logger that keeps what it is told (and keeps the test output quiet). */
export function recordingLogger(): { warn(message: string): void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (message) => messages.push(message), messages };
}
