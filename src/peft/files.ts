// Reading and writing adapter folders exactly as HF PEFT does: adapter_config.json (sorted keys,
// two-space indent) and adapter_model.safetensors (metadata {"format": "pt"}); an adapter other
// than 'default' goes in a sub-folder named after it.
import { readFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, writeFileAtomic, MissingFileError } from '../io/index.js';
import type { Tensor } from '../tensor/index.js';
import { PeftConfigError } from './errors.js';
import type { Json } from './config/base.js';

export const CONFIG_FILE = 'adapter_config.json';
export const WEIGHTS_FILE = 'adapter_model.safetensors';

/** Where adapter `name` is saved inside `dir`. */
export function adapterFolder(dir: string, name: string): string {
  return name === 'default' ? dir : join(dir, name);
}

export async function writeAdapterFolder(folder: string, config: Record<string, unknown>, tensors: ReadonlyMap<string, Tensor>): Promise<void> {
  await mkdir(folder, { recursive: true });
  await saveSafetensors(join(folder, WEIGHTS_FILE), tensors, { format: 'pt' });
  await writeFileAtomic(join(folder, CONFIG_FILE), `${JSON.stringify(sortKeys(config), null, 2)}`);
}

/** Python's json.dumps(sort_keys=True) order: every object's keys sorted, recursively. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

export async function readAdapterConfig(folder: string): Promise<Json> {
  const path = join(folder, CONFIG_FILE);
  await requireFile(path, `an adapter folder holds ${CONFIG_FILE} and ${WEIGHTS_FILE}`);
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PeftConfigError(`${path} is not valid JSON (${(error as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PeftConfigError(`${path} must hold a JSON object`);
  return raw as Json;
}

export async function readAdapterWeights(folder: string): Promise<Map<string, Tensor>> {
  const path = join(folder, WEIGHTS_FILE);
  await requireFile(path, `save the adapter with savePretrained(), or check the folder`);
  return (await loadSafetensors(path)).tensors;
}

async function requireFile(path: string, hint: string): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (info === null || !info.isFile()) throw new MissingFileError([path], hint);
}
