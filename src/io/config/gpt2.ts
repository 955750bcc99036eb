// GPT2Config (defaults are GPT-2 small's).
import { readBase, type BaseConfig } from './base.js';
import { Fields, type Json } from './fields.js';

export interface GPT2Config extends BaseConfig {
  model_type: 'gpt2';
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** Width of the MLP; HF's null means 4 * n_embd, resolved here. */
  n_inner: number;
  activation_function: string;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  /** Divide attention scores by sqrt(head width). */
  scale_attn_weights: boolean;
  /** Also divide them by (layer index + 1). */
  scale_attn_by_inverse_layer_idx: boolean;
  /** Compute attention scores in float32 (numerics only). */
  reorder_and_upcast_attn: boolean;
}

export function parseGPT2Config(raw: Json, path = 'config.json'): GPT2Config {
  const f = new Fields(raw, path);
  const n_embd = f.int('n_embd', 768);
  const n_head = f.int('n_head', 12);
  if (n_embd % n_head !== 0) f.fail('n_head', `a divisor of n_embd (${n_embd})`, n_head);
  return {
    model_type: 'gpt2',
    ...readBase(f, { tie_word_embeddings: true, pad_token_id: null, bos_token_id: 50256, eos_token_id: 50256 }),
    vocab_size: f.int('vocab_size', 50257),
    n_positions: f.int('n_positions', 1024),
    n_embd,
    n_layer: f.int('n_layer', 12),
    n_head,
    n_inner: f.int('n_inner', 4 * n_embd),
    activation_function: f.string('activation_function', 'gelu_new'),
    resid_pdrop: f.probability('resid_pdrop', 0.1),
    embd_pdrop: f.probability('embd_pdrop', 0.1),
    attn_pdrop: f.probability('attn_pdrop', 0.1),
    layer_norm_epsilon: f.number('layer_norm_epsilon', 1e-5, 0),
    initializer_range: f.number('initializer_range', 0.02, 0),
    scale_attn_weights: f.bool('scale_attn_weights', true),
    scale_attn_by_inverse_layer_idx: f.bool('scale_attn_by_inverse_layer_idx', false),
    reorder_and_upcast_attn: f.bool('reorder_and_upcast_attn', false),
  };
}
