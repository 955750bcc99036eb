// Model shapes the benchmarks build with random weights (nothing is downloaded).
import { parseGPT2Config, type GPT2Config } from '../../src/io/index.js';

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
