// Reading and writing adapter folders exactly as HF PEFT does: adapter_config.json (sorted keys,
// two-space indent) and adapter_model.safetensors (metadata {"format": "pt"}); an adapter other
// than 'default' goes in a sub-folder named after it. A folder is a path (a URL in the browser
// build) or any FileSource / FileSink, so a page saves into Blobs with the same code.
import { loadSafetensors, safetensorsChunks, sinkFor, sourceFor, MissingFileError } from '../io/index.js';
import type { FileSink, FileSource } from '../io/index.js';
import { sortedJsonText } from '../io/sorted-json.js';
import type { Tensor } from '../tensor/index.js';
import { PeftConfigError } from './errors.js';
import type { Json } from './config/base.js';

export const CONFIG_FILE = 'adapter_config.json';
export const WEIGHTS_FILE = 'adapter_model.safetensors';

/** Where adapter `name` is saved inside `dir`. */
export function adapterFolder<F extends FileSource | FileSink>(dir: F, name: string): F {
  return name === 'default' ? dir : (dir.folder(name) as F);
}

export async function writeAdapterFolder(folder: string | FileSink, config: Record<string, unknown>, tensors: ReadonlyMap<string, Tensor>): Promise<void> {
  const sink = sinkFor(folder);
  await sink.write(WEIGHTS_FILE, safetensorsChunks(sink.describe(WEIGHTS_FILE), tensors, { format: 'pt' }));
  await sink.write(CONFIG_FILE, [new TextEncoder().encode(sortedJsonText(config))]);
}

export async function readAdapterConfig(folder: string | FileSource): Promise<Json> {
  const source = sourceFor(folder);
  const path = source.describe(CONFIG_FILE);
  const text = await source.readText(CONFIG_FILE);
  if (text === null) throw new MissingFileError([path], `an adapter folder holds ${CONFIG_FILE} and ${WEIGHTS_FILE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PeftConfigError(`${path} is not valid JSON (${(error as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PeftConfigError(`${path} must hold a JSON object`);
  return raw as Json;
}

export async function readAdapterWeights(folder: string | FileSource): Promise<Map<string, Tensor>> {
  const source = sourceFor(folder);
  if (!(await source.isFile(WEIGHTS_FILE))) {
    throw new MissingFileError([source.describe(WEIGHTS_FILE)], `save the adapter with savePretrained(), or check the folder`);
  }
  return (await loadSafetensors(source, WEIGHTS_FILE)).tensors;
}
