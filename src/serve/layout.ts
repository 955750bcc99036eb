// What the paged cache must hold per position, read from the model itself: one forward over a
// single token with a cache that records the keys each layer hands it. This works for every
// architecture whose attention calls KVCache.update, without reading its config's field names.
import { Tensor, noGrad, tensor, tidy } from '../tensor/index.js';
import { KVCache } from '../models/cache.js';
import type { ModelInputs, ModelOutput } from '../models/outputs.js';
import type { KVLayout } from './kv-pool.js';
import { ServeError } from './errors.js';

class ProbeCache extends KVCache {
  readonly seen: { heads: number; dim: number; dtype: Tensor['dtype'] }[] = [];

  override update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    this.seen[layer] = { heads: k.shape[1]!, dim: k.shape[3]!, dtype: k.dtype };
    return [k, v];
  }
}

export function probeLayout(model: { forward(inputs: ModelInputs): ModelOutput }): KVLayout {
  const probe = new ProbeCache();
  noGrad(() => tidy(() => void model.forward({ inputIds: tensor([[0]], [1, 1], 'int64'), pastKeyValues: probe, logitsToKeep: 1 })));
  const first = probe.seen[0];
  if (first === undefined || probe.seen.some((s) => s.heads !== first.heads || s.dim !== first.dim || s.dtype !== first.dtype)) {
    throw new ServeError(400, 'this model does not keep a uniform KV cache (every layer the same heads, head size and dtype); it cannot be served');
  }
  return { layers: probe.seen.length, kvHeads: first.heads, headDim: first.dim, dtype: first.dtype };
}
