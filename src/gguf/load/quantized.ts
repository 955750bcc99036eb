// A GGUF file's block-quantised weights kept as their blocks: before the loader copies anything, each
// Linear (or GPT-2 Conv1D, whose file tensor is already [out, in]) whose weight the file holds in a
// ggml block type becomes a GgmlLinear over those bytes, and each such embedding table a GgmlEmbedding
// (with an output head tied to it a GgmlLinear over the same blocks). The float weights the model was
// built with are never written, so only the file's blocks are resident, as in llama.cpp.
import { ShapeError, ValueError, type Tensor } from '../../tensor/index.js';
import { Conv1D, Embedding, Linear, type Module, type Parameter } from '../../nn/index.js';
import { GgmlEmbedding, GgmlLinear, type GgmlTensor } from '../quant/index.js';
import type { GgufModelWeights } from './weights.js';

/** What the model loader needs to know of the layers installed: the keys they read and their weights. */
export interface GgmlLayers {
  readonly consumedKeys: ReadonlySet<string>;
  readonly filled: ReadonlySet<Tensor>;
}

/** Replaces `model`'s layers whose weights `weights` holds block-quantised by ggml layers over the blocks. */
export async function installGgmlLayers(
  model: Module,
  resolveKey: (key: string) => string | null,
  weights: GgufModelWeights,
): Promise<GgmlLayers> {
  const consumedKeys = new Set<string>();
  const filled = new Set<Tensor>();
  for (const { key, modulePath, layer } of layersOfWeights(model, resolveKey, weights, (k) => weights.isBlockQuantized(k))) {
    const blocks = await weights.blockTensor(key);
    for (const [at, replacement] of replacementsFor(model, modulePath, layer, blocks, key)) {
      model.setSubmodule(at, replacement);
      filled.add(replacement.weight);
    }
    consumedKeys.add(key);
  }
  return { consumedKeys, filled };
}

/**
 * The model's layers whose weight is the file tensor `key`, for the keys `wanted` picks. Keys that
 * resolve to nothing, or to something other than a weight, are left to the loader, which reports
 * keys the model has no place for.
 */
export function* layersOfWeights(
  model: Module,
  resolveKey: (key: string) => string | null,
  weights: GgufModelWeights,
  wanted: (key: string) => boolean,
): Generator<{ key: string; modulePath: string; layer: Module }> {
  for (const key of weights.keys()) {
    if (!wanted(key)) continue;
    const path = resolveKey(key);
    if (path === null || !path.endsWith('.weight')) continue;
    const modulePath = path.slice(0, -'.weight'.length);
    yield { key, modulePath, layer: model.getSubmodule(modulePath) };
  }
}

/** The ggml layers for the layer at `modulePath` (and for an output head tied to it), by path. */
function replacementsFor(
  model: Module,
  modulePath: string,
  layer: Module,
  blocks: GgmlTensor,
  key: string,
): [string, GgmlLinear | GgmlEmbedding][] {
  if (layer instanceof Embedding) {
    checkShape(key, blocks, [layer.numEmbeddings, layer.embeddingDim]);
    const tied = [...model.namedModules()].filter(([, m]) => m instanceof Linear && m.weight === layer.weight);
    return [[modulePath, new GgmlEmbedding(blocks)], ...tied.map(([p]): [string, GgmlLinear] => [p, new GgmlLinear(blocks)])];
  }
  if (layer instanceof Linear || layer instanceof Conv1D) {
    checkShape(key, blocks, [layer.outFeatures, layer.inFeatures]);
    return [[modulePath, new GgmlLinear(blocks, frozen(layer.bias))]];
  }
  throw new ValueError(
    `${key} is block-quantised (${blocks.type}) but ${modulePath} is a ${layer.constructor.name}, which has no quantised form: load the file with { dtype: 'float32' } to dequantise it`,
  );
}

function checkShape(key: string, blocks: GgmlTensor, expected: [number, number]): void {
  if (blocks.shape[0] !== expected[0] || blocks.shape[1] !== expected[1]) {
    throw new ShapeError(
      `${key}: the file's ${blocks.type} tensor is [${blocks.shape.join(', ')}] but the model's layer is [${expected.join(', ')}] (from the file's metadata)`,
    );
  }
}

/** The layer's own bias Parameter (the loader fills it later), frozen as the weight is. */
function frozen(bias: Parameter | null): Parameter | null {
  if (bias !== null) bias.requiresGrad = false;
  return bias;
}
