// Model shapes the benchmarks build with random weights (nothing is downloaded).
import { parseGPT2Config, parseLlamaConfig, type GPT2Config, type LlamaConfig } from '../../src/io/index.js';

/** GPT-2 small (124M): 12 layers, 768 wide, 12 heads, 50257-token vocabulary, 1024 positions. */
export function gpt2SmallConfig(overrides: Record<string, unknown> = {}): GPT2Config {
  return parseGPT2Config({
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    n_positions: 1024,
    vocab_size: 50257,
    attn_pdrop: 0,
    embd_pdrop: 0,
    resid_pdrop: 0,
    ...overrides,
  });
}

/** Forward FLOPs of a GPT-2 stack per token: 2 per weight of each linear layer, plus attention. */
export function gpt2ForwardFlopsPerToken(config: GPT2Config, contextLength: number, withHead = true): number {
  const d = config.n_embd;
  const perLayer = 2 * (3 * d * d + d * d + 2 * d * config.n_inner) + 2 * 2 * contextLength * d;
  return config.n_layer * perLayer + (withHead ? 2 * d * config.vocab_size : 0);
}

/** The linear layers of a GPT-2 block as [in, out]: c_attn, attn c_proj, c_fc, mlp c_proj. */
function gpt2BlockLinears(config: GPT2Config): [number, number][] {
  const d = config.n_embd;
  return [[d, 3 * d], [d, d], [d, config.n_inner], [config.n_inner, d]];
}

/**
 * FLOPs per token of one LoRA training step (every block linear adapted with rank r, all else frozen):
 * the forward GEMMs and the frozen weights' input-gradient GEMMs (no weight gradients), the LoRA A/B
 * products (forward, input gradients and weight gradients: 3 x 2 per weight), causal attention (half of
 * T x T: QKᵀ and PV forward, twice that backward), and the LM head forward and input gradient.
 */
export function gpt2LoraTrainFlopsPerToken(config: GPT2Config, seq: number, r: number): number {
  const d = config.n_embd;
  const frozen = gpt2BlockLinears(config).reduce((n, [i, o]) => n + i * o, 0);
  const lora = gpt2BlockLinears(config).reduce((n, [i, o]) => n + r * (i + o), 0);
  const attention = 2 * 2 * (seq / 2) * d;
  const perLayer = 2 * 2 * frozen + 3 * 2 * lora + 3 * attention;
  return config.n_layer * perLayer + 2 * 2 * d * config.vocab_size;
}

/** A Llama-3.2-1B-shaped config: 16 layers, 2048 wide, 32 heads (8 KV), 8192 feed-forward, 128256 tokens, tied embeddings. */
export function llama1bConfig(): LlamaConfig {
  return parseLlamaConfig({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    vocab_size: 128256,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    rope_theta: 500000,
  });
}
