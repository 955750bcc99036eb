// The weights of a Hugging Face model folder: model.safetensors, or shards listed in
// model.safetensors.index.json.
import { MissingFileError } from '../errors.js';
import { sourceFor } from '../files/default.js';
import type { FileSource } from '../files/types.js';
import { SafetensorsFile } from './reader.js';
import { INDEX_FILE, ShardedSafetensors } from './sharded.js';

export const WEIGHTS_FILE = 'model.safetensors';

/** Opens the weights in `folder` (a path, or any FileSource), single-file or sharded. */
export async function openModelWeights(folder: string | FileSource): Promise<SafetensorsFile | ShardedSafetensors> {
  const source = sourceFor(folder);
  if (await source.isFile(WEIGHTS_FILE)) return SafetensorsFile.open(source, WEIGHTS_FILE);
  if (await source.isFile(INDEX_FILE)) return ShardedSafetensors.open(source, INDEX_FILE);
  throw new MissingFileError(
    [source.describe(WEIGHTS_FILE), source.describe(INDEX_FILE)],
    'a model folder holds one of them; peftjs reads safetensors checkpoints only',
  );
}
