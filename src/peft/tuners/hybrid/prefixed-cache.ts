// How a layer wrapping an attention module gives it prefix keys and values: through the KV cache
// the attention already reads. The attention gets a cache view that puts the prefix in front of
// what it returns without storing it (so a generation cache keeps only real tokens, and positions
// are not shifted), and a key-padding mask widened to cover the prefix.
import { Tensor, concat, ones } from '../../../tensor/index.js';
import { KVCache } from '../../../models/index.js';

class PrefixedCache extends KVCache {
  constructor(
    private readonly inner: KVCache | undefined,
    private readonly prefixKeys: Tensor,
    private readonly prefixValues: Tensor,
  ) {
    super();
  }

  override update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const [keys, values] = this.inner ? this.inner.update(layer, k, v) : [k, v];
    return [concat([this.prefixKeys, keys], 2), concat([this.prefixValues, values], 2)];
  }
}

/** The layer's own prefix as the one `update` call seedPrefixCache makes on a one-layer cache. */
export class PrefixCollector extends KVCache {
  collected: [Tensor, Tensor] | null = null;

  override update(_layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    this.collected = [k, v];
    return this.collected;
  }
}

/** The models' attention context: Llama's and BERT's forward(h, ctx) take the mask and cache in it. */
interface AttentionContext {
  mask: Tensor | null;
  cache: KVCache | undefined;
}

function isContext(v: unknown): v is AttentionContext {
  return v !== null && typeof v === 'object' && !(v instanceof Tensor) && 'mask' in v && 'cache' in v;
}

/** [batch, keys] keep-mask with the prefix's `tokens` keys in front (null: every key is real). */
function widenedMask(mask: Tensor | null, tokens: number): Tensor | null {
  return mask === null ? null : concat([ones([mask.shape[0]!, tokens], mask.dtype), mask], 1);
}

/**
 * The attention's arguments with the prefix in: forward(h, ctx) (Llama, BERT) or GPT-2's
 * forward(h, mask, cache, layerIdx). keys/values: [batch, kvHeads, tokens, headDim].
 */
export function withPrefix(args: readonly unknown[], keys: Tensor, values: Tensor): unknown[] {
  const [h, second, ...rest] = args;
  const tokens = keys.shape[2]!;
  if (isContext(second)) return [h, { ...second, mask: widenedMask(second.mask, tokens), cache: new PrefixedCache(second.cache, keys, values) }, ...rest];
  const [cache, ...after] = rest;
  return [h, widenedMask((second ?? null) as Tensor | null, tokens), new PrefixedCache(cache as KVCache | undefined, keys, values), ...after];
}
