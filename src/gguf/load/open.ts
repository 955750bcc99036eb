// A GGUF model file as the model loader needs it: its config and its weights under HF names.
import type { ModelConfig } from '../../io/index.js';
import type { LlamaConfig } from '../../io/index.js';
import { GgufFile } from '../reader.js';
import { configFromGguf, ggufArchitectureOf } from './config.js';
import { GgufModelWeights } from './weights.js';

/** Whether a model location names a GGUF file rather than a folder. */
export function isGgufLocation(location: unknown): location is string {
  return typeof location === 'string' && /\.gguf$/i.test(location);
}

export async function openGgufModel(path: string): Promise<{ config: ModelConfig; weights: GgufModelWeights }> {
  const file = await GgufFile.open(path);
  try {
    const arch = ggufArchitectureOf(file.metadata);
    const names = new Set(file.tensors.keys());
    const config = configFromGguf(file.metadata, names, file.tensors.get('token_embd.weight')?.shape[0] ?? 0);
    const c = config as LlamaConfig;
    const rope = arch === 'llama' ? { q: c.num_attention_heads, k: c.num_key_value_heads } : null;
    return { config, weights: new GgufModelWeights(file, arch, rope) };
  } catch (error) {
    await file.close();
    throw error;
  }
}
