// Writing a safetensors file to a local path, atomically (see serialize.ts for the bytes).
import { writeChunksAtomic } from '../atomic.js';
import { safetensorsChunks, type NamedTensors, type SaveOptions } from './serialize.js';

/** Writes `tensors` (and string `metadata`) to `path` atomically. Views and strided tensors are fine. */
export async function saveSafetensors(
  path: string,
  tensors: NamedTensors,
  metadata?: Readonly<Record<string, string>>,
  options: SaveOptions = {},
): Promise<void> {
  await writeChunksAtomic(path, safetensorsChunks(path, tensors, metadata, options));
}
