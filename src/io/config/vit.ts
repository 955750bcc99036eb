// ViTConfig (defaults are ViT-Base/16 at 224 pixels).
import { readBase, type BaseConfig } from './base.js';
import { Fields, type Json } from './fields.js';

export interface ViTConfig extends BaseConfig {
  model_type: 'vit';
  image_size: number;
  patch_size: number;
  num_channels: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  initializer_range: number;
  layer_norm_eps: number;
  /** Bias on the query, key and value projections. */
  qkv_bias: boolean;
  encoder_stride: number;
  /** Width of the pooler; HF's null means hidden_size. */
  pooler_output_size: number;
  pooler_act: string;
}

export function parseViTConfig(raw: Json, path = 'config.json'): ViTConfig {
  const f = new Fields(raw, path);
  const hidden_size = f.int('hidden_size', 768);
  const num_attention_heads = f.int('num_attention_heads', 12);
  if (hidden_size % num_attention_heads !== 0) {
    f.fail('num_attention_heads', `a divisor of hidden_size (${hidden_size})`, num_attention_heads);
  }
  return {
    model_type: 'vit',
    ...readBase(f, { tie_word_embeddings: true, pad_token_id: null, bos_token_id: null, eos_token_id: null }),
    image_size: f.int('image_size', 224),
    patch_size: f.int('patch_size', 16),
    num_channels: f.int('num_channels', 3),
    hidden_size,
    num_hidden_layers: f.int('num_hidden_layers', 12),
    num_attention_heads,
    intermediate_size: f.int('intermediate_size', 3072),
    hidden_act: f.string('hidden_act', 'gelu'),
    hidden_dropout_prob: f.probability('hidden_dropout_prob', 0),
    attention_probs_dropout_prob: f.probability('attention_probs_dropout_prob', 0),
    initializer_range: f.number('initializer_range', 0.02, 0),
    layer_norm_eps: f.number('layer_norm_eps', 1e-12, 0),
    qkv_bias: f.bool('qkv_bias', true),
    encoder_stride: f.int('encoder_stride', 16),
    pooler_output_size: f.int('pooler_output_size', hidden_size),
    pooler_act: f.string('pooler_act', 'tanh'),
  };
}
