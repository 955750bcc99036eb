// Qwen2Config: Llama's layout with a bias on the q, k and v projections (always; there is no
// field for it) and optional sliding-window attention in the upper layers.
import { readDecoder, type DecoderConfig } from './decoder.js';
import { Fields, type Json } from './fields.js';

export type LayerType = 'full_attention' | 'sliding_attention';

export interface Qwen2Config extends DecoderConfig {
  model_type: 'qwen2';
  use_sliding_window: boolean;
  /** Window of sliding-window layers; null unless use_sliding_window (as HF sets it). */
  sliding_window: number | null;
  /** Layers below this index use full attention even with a sliding window. */
  max_window_layers: number;
  /** The attention of each layer; by default sliding from max_window_layers on when a window is set. */
  layer_types: LayerType[];
}

export function parseQwen2Config(raw: Json, path = 'config.json'): Qwen2Config {
  const f = new Fields(raw, path);
  const decoder = readDecoder(f, {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 32768,
    tie_word_embeddings: false,
    pad_token_id: null,
    bos_token_id: null,
    eos_token_id: null,
  });
  const use_sliding_window = f.bool('use_sliding_window', false);
  const window = f.nullableInt('sliding_window', 4096, 1);
  const sliding_window = use_sliding_window ? window : null;
  const max_window_layers = f.int('max_window_layers', 28, 0);
  const layers = decoder.num_hidden_layers;
  const byDefault = Array.from({ length: layers }, (_, i): LayerType =>
    sliding_window !== null && i >= max_window_layers ? 'sliding_attention' : 'full_attention',
  );
  const layer_types = f.strings('layer_types', byDefault);
  if (layer_types.length !== layers || !layer_types.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
    f.fail(
      'layer_types',
      `${layers} entries (one per layer), each 'full_attention' or 'sliding_attention'`,
      layer_types,
    );
  }
  return {
    model_type: 'qwen2',
    ...decoder,
    use_sliding_window,
    sliding_window,
    max_window_layers,
    layer_types: layer_types as LayerType[],
  };
}
