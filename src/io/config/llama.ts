// LlamaConfig (transformers' defaults are Llama 2 7B's).
import { readDecoder, type DecoderConfig } from './decoder.js';
import { Fields, type Json } from './fields.js';

export interface LlamaConfig extends DecoderConfig {
  model_type: 'llama';
  /** Bias on q, k, v and o projections. */
  attention_bias: boolean;
  /** Bias on gate, up and down projections. */
  mlp_bias: boolean;
}

export function parseLlamaConfig(raw: Json, path = 'config.json'): LlamaConfig {
  const f = new Fields(raw, path);
  return {
    model_type: 'llama',
    ...readDecoder(f, {
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: null,
      max_position_embeddings: 2048,
      tie_word_embeddings: false,
      pad_token_id: null,
      bos_token_id: 1,
      eos_token_id: 2,
    }),
    attention_bias: f.bool('attention_bias', false),
    mlp_bias: f.bool('mlp_bias', false),
  };
}
