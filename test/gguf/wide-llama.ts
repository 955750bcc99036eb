// A random llama with 256-wide rows: the fixtures' rows (32, 64) are shorter than a K-quant
// super-block (256), so K-quant tests use this one.
import { LlamaForCausalLM, parseLlamaConfig } from '../../src/index.js';

export function wideRandomLlama(): LlamaForCausalLM {
  const config = parseLlamaConfig({
    vocab_size: 320,
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    initializer_range: 0.1,
    max_position_embeddings: 64,
    bos_token_id: 0,
    eos_token_id: 0,
  });
  return new LlamaForCausalLM(config);
}
