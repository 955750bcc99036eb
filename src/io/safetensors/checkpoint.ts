// The weights of a Hugging Face model folder: model.safetensors, or shards listed in
// model.safetensors.index.json.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingFileError } from '../errors.js';
import { SafetensorsFile } from './reader.js';
import { INDEX_FILE, ShardedSafetensors } from './sharded.js';

export const WEIGHTS_FILE = 'model.safetensors';

/** Opens the weights in `folder`, single-file or sharded. */
export async function openModelWeights(folder: string): Promise<SafetensorsFile | ShardedSafetensors> {
  const single = join(folder, WEIGHTS_FILE);
  if (await isFile(single)) return SafetensorsFile.open(single);
  const index = join(folder, INDEX_FILE);
  if (await isFile(index)) return ShardedSafetensors.open(index);
  throw new MissingFileError(
    [single, index],
    'a model folder holds one of them; peftjs reads safetensors checkpoints only',
  );
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
