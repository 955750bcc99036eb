// A GGUF model file as the model loader needs it: its config and its weights under HF names.
import type { ModelConfig } from '../../io/index.js';
import type { LlamaConfig } from '../../io/index.js';
import { GgufFormatError } from '../errors.js';
import { GgufFile } from '../reader.js';
import { ROPE_FREQS_TENSOR } from '../rope-freqs.js';
import { configFromGguf, ggufArchitectureOf } from './config.js';
import { GgufModelWeights } from './weights.js';

/** Whether a model location names a GGUF file rather than a folder. */
export function isGgufLocation(location: unknown): location is string {
  return typeof location === 'string' && /\.gguf$/i.test(location);
}

/** The file's rope_freqs.weight (Llama 3 rope scaling), a small F32 vector; undefined when absent. */
async function ropeFreqs(file: GgufFile): Promise<Float32Array | undefined> {
  const info = file.tensors.get(ROPE_FREQS_TENSOR);
  if (info === undefined) return undefined;
  if (info.type.name !== 'F32' || info.shape.length !== 1 || info.shape[0]! > 4096) {
    throw new GgufFormatError(file.path, `is ${info.type.name} [${info.shape.join(', ')}]; rope divisors are one F32 vector`, ROPE_FREQS_TENSOR);
  }
  const bytes = await file.readBytes(ROPE_FREQS_TENSOR);
  return new Float32Array(bytes.buffer, bytes.byteOffset, info.shape[0]);
}

export async function openGgufModel(path: string): Promise<{ config: ModelConfig; weights: GgufModelWeights }> {
  const file = await GgufFile.open(path);
  try {
    const arch = ggufArchitectureOf(file.metadata);
    const names = new Set(file.tensors.keys());
    const config = configFromGguf(
      file.metadata,
      names,
      file.tensors.get('token_embd.weight')?.shape[0] ?? 0,
      await ropeFreqs(file),
    );
    const c = config as LlamaConfig;
    const rope = arch === 'llama' ? { q: c.num_attention_heads, k: c.num_key_value_heads } : null;
    return { config, weights: new GgufModelWeights(file, arch, rope) };
  } catch (error) {
    await file.close();
    throw error;
  }
}
