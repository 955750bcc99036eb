// The prefixes as a KV cache the models read (HF's get_prompt for PREFIX_TUNING): the table's
// [virtual tokens, num_layers · 2 · token_dim] viewed as [tokens, num_layers · 2, heads, head_dim],
// entry 2l the keys and 2l + 1 the values of layer l, each [batch, heads, tokens, head_dim].
import type { Tensor } from '../../../tensor/index.js';
import type { KVCache } from '../../../models/index.js';
import type { ResolvedPromptConfig } from '../config.js';

/** Layer l's [key entry, value entry] in the table. */
export type EntryOf = (layer: number) => [number, number];

/** Decoder-only and encoder-only models: layer l reads entries 2l and 2l + 1. */
export const layerEntries: EntryOf = (layer) => [2 * layer, 2 * layer + 1];

/**
 * Encoder-decoder models (the decoder's self-attention): HF concatenates the entries with
 * themselves and splits them in fours, so decoder layer l reads entries 4l and 4l + 1 modulo
 * num_layers · 2 (and every cross-attention starts empty).
 */
export function decoderEntries(numLayers: number): EntryOf {
  return (layer) => [(4 * layer) % (2 * numLayers), (4 * layer + 1) % (2 * numLayers)];
}

/** Seeds `cache` (empty) with every layer's prefix keys and values for `batch` rows. */
export function seedPrefixCache(cache: KVCache, prompts: Tensor, config: ResolvedPromptConfig, batch: number, entries: EntryOf): KVCache {
  const heads = config.numAttentionHeads;
  const tokens = config.numVirtualTokens;
  const byEntry = prompts.reshape([tokens, config.numLayers * 2, heads, config.tokenDim / heads]).permute([1, 2, 0, 3]);
  const row = (entry: number) => byEntry.select(0, entry).unsqueeze(0).expand([batch, heads, tokens, config.tokenDim / heads]);
  for (let layer = 0; layer < config.numLayers; layer++) {
    const [k, v] = entries(layer);
    cache.update(layer, row(k), row(v));
  }
  return cache;
}
