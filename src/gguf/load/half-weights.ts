// A GGUF file's F16 and BF16 matrices kept in their file dtype: before the loader copies anything,
// each Linear, GPT-2 Conv1D or Embedding whose weight the file holds in 16 bits gets that tensor as
// its weight (a tied output head the same one), instead of a float32 copy. Half the memory, and half
// the bytes each decode step reads, as in llama.cpp; the values are the same (bf16 and f16 widen to
// float32 exactly, and the GEMM widens them as it packs). Other tensors of those dtypes (norms,
// biases) go to the loader, which converts them to the model's dtype.
import { Parameter, Conv1D, Embedding, Linear, type Module } from '../../nn/index.js';
import { ShapeError } from '../../tensor/index.js';
import { layersOfWeights, type GgmlLayers } from './quantized.js';
import type { GgufModelWeights } from './weights.js';

const HALF = new Set(['bfloat16', 'float16']);

/** Gives `model`'s layers whose weights `weights` holds as F16/BF16 matrices those tensors as they are. */
export async function keepHalfWeights(
  model: Module,
  resolveKey: (key: string) => string | null,
  weights: GgufModelWeights,
): Promise<GgmlLayers> {
  const consumedKeys = new Set<string>();
  const filled = new Set<Parameter>();
  const isHalf = (key: string) => HALF.has(weights.plainDType(key) ?? '');
  for (const { key, layer } of layersOfWeights(model, resolveKey, weights, isHalf)) {
    if (!(layer instanceof Linear || layer instanceof Conv1D || layer instanceof Embedding)) continue;
    const dtype = weights.plainDType(key)!;
    const expected = layer.weight.shape;
    const { shape } = weights.info(key);
    if (shape.join() !== expected.join()) {
      throw new ShapeError(
        `${key}: the file's ${dtype} tensor is [${shape.join(', ')}] but the model's layer is [${expected.join(', ')}] (from the file's metadata)`,
      );
    }
    const value = await weights.get(key);
    const weight = new Parameter(value, layer.weight.requiresGrad);
    value.dispose();
    const previous = layer.weight;
    for (const [, m] of model.namedModules()) {
      if ((m instanceof Linear || m instanceof Conv1D || m instanceof Embedding) && m.weight === previous) m.weight = weight;
    }
    previous.dispose();
    filled.add(weight);
    consumedKeys.add(key);
  }
  return { consumedKeys, filled };
}
