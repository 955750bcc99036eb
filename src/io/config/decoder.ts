// Fields the Llama family (Llama, Qwen2, Mistral) shares: a pre-norm decoder with RMSNorm, rotary
// positions, grouped-query attention and a gated SiLU MLP.
import { readBase, type BaseConfig, type BaseDefaults } from './base.js';
import type { Fields } from './fields.js';
import { readRope, type RopeParameters } from './rope.js';

export interface DecoderConfig extends BaseConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Heads of K and V (grouped-query attention); HF's null means num_attention_heads. */
  num_key_value_heads: number;
  /** Width of one head; HF's null means hidden_size / num_attention_heads (rounded down). */
  head_dim: number;
  hidden_act: string;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_parameters: RopeParameters;
  attention_dropout: number;
  initializer_range: number;
}

/** The defaults of one family's config class. */
export interface DecoderDefaults extends BaseDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** null: as many as num_attention_heads. */
  num_key_value_heads: number | null;
  max_position_embeddings: number;
}

export function readDecoder(f: Fields, d: DecoderDefaults): DecoderConfig {
  const hidden_size = f.int('hidden_size', d.hidden_size);
  const num_attention_heads = f.int('num_attention_heads', d.num_attention_heads);
  const num_key_value_heads = f.int('num_key_value_heads', d.num_key_value_heads ?? num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0) {
    f.fail('num_key_value_heads', `a divisor of num_attention_heads (${num_attention_heads})`, num_key_value_heads);
  }
  const max_position_embeddings = f.int('max_position_embeddings', d.max_position_embeddings);
  return {
    ...readBase(f, d),
    vocab_size: f.int('vocab_size', d.vocab_size),
    hidden_size,
    intermediate_size: f.int('intermediate_size', d.intermediate_size),
    num_hidden_layers: f.int('num_hidden_layers', d.num_hidden_layers),
    num_attention_heads,
    num_key_value_heads,
    head_dim: f.int('head_dim', Math.floor(hidden_size / num_attention_heads)),
    hidden_act: f.string('hidden_act', 'silu'),
    max_position_embeddings,
    rms_norm_eps: f.number('rms_norm_eps', 1e-6, 0),
    rope_parameters: readRope(f, 10000, max_position_embeddings),
    attention_dropout: f.probability('attention_dropout', 0),
    initializer_range: f.number('initializer_range', 0.02, 0),
  };
}
