// MistralConfig (defaults are Mistral 7B's): Llama's layout with sliding-window attention.
import { readDecoder, type DecoderConfig } from './decoder.js';
import { Fields, type Json } from './fields.js';

export interface MistralConfig extends DecoderConfig {
  model_type: 'mistral';
  /** Width of the attention window, as HF's masks use it; null: full causal attention. */
  sliding_window: number | null;
}

export function parseMistralConfig(raw: Json, path = 'config.json'): MistralConfig {
  const f = new Fields(raw, path);
  return {
    model_type: 'mistral',
    ...readDecoder(f, {
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      max_position_embeddings: 4096 * 32,
      tie_word_embeddings: false,
      pad_token_id: null,
      bos_token_id: 1,
      eos_token_id: 2,
    }),
    sliding_window: f.nullableInt('sliding_window', 4096, 1),
  };
}
