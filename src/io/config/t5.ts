// T5Config (defaults are t5-small's).
import { readBase, type BaseConfig } from './base.js';
import { Fields, type Json } from './fields.js';

export interface T5Config extends BaseConfig {
  model_type: 't5';
  vocab_size: number;
  d_model: number;
  /** Width of one attention head (heads * d_kv need not equal d_model). */
  d_kv: number;
  d_ff: number;
  num_layers: number;
  /** Decoder layers; HF's null means num_layers. */
  num_decoder_layers: number;
  num_heads: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  dropout_rate: number;
  classifier_dropout: number;
  layer_norm_epsilon: number;
  initializer_factor: number;
  /** `{act}` or `gated-{act}` (T5 v1.1 and Flan use 'gated-gelu'). */
  feed_forward_proj: string;
  /** The MLP activation, derived from feed_forward_proj ('gated-gelu' means 'gelu_new', as in HF). */
  dense_act_fn: string;
  /** Whether the MLP is gated (wi_0, wi_1) rather than one wi. */
  is_gated_act: boolean;
  /** The first decoder input; HF T5 checkpoints use the pad token, which is the default here. */
  decoder_start_token_id: number;
  /** Multiply the decoder output by d_model^-0.5 before the LM head; by default when embeddings are tied. */
  scale_decoder_outputs: boolean;
}

export function parseT5Config(raw: Json, path = 'config.json'): T5Config {
  const f = new Fields(raw, path);
  const base = readBase(f, { tie_word_embeddings: true, pad_token_id: 0, bos_token_id: null, eos_token_id: 1 });
  const num_layers = f.int('num_layers', 6);
  const feed_forward_proj = f.string('feed_forward_proj', 'relu');
  const parts = feed_forward_proj.split('-');
  if ((parts.length > 1 && parts[0] !== 'gated') || parts.length > 2) {
    f.fail('feed_forward_proj', "'{act}' or 'gated-{act}', e.g. 'relu' or 'gated-gelu'", feed_forward_proj);
  }
  return {
    model_type: 't5',
    ...base,
    vocab_size: f.int('vocab_size', 32128),
    d_model: f.int('d_model', 512),
    d_kv: f.int('d_kv', 64),
    d_ff: f.int('d_ff', 2048),
    num_layers,
    num_decoder_layers: f.int('num_decoder_layers', num_layers, 0),
    num_heads: f.int('num_heads', 8),
    relative_attention_num_buckets: f.int('relative_attention_num_buckets', 32),
    relative_attention_max_distance: f.int('relative_attention_max_distance', 128),
    dropout_rate: f.probability('dropout_rate', 0.1),
    classifier_dropout: f.probability('classifier_dropout', 0),
    layer_norm_epsilon: f.number('layer_norm_epsilon', 1e-6, 0),
    initializer_factor: f.number('initializer_factor', 1, 0),
    feed_forward_proj,
    dense_act_fn: feed_forward_proj === 'gated-gelu' ? 'gelu_new' : parts[parts.length - 1]!,
    is_gated_act: parts[0] === 'gated',
    decoder_start_token_id: f.int('decoder_start_token_id', base.pad_token_id ?? 0, 0),
    scale_decoder_outputs: f.bool('scale_decoder_outputs', base.tie_word_embeddings),
  };
}
