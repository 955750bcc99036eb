// BertConfig and RobertaConfig: the same encoder; RoBERTa differs in its special token ids (and
// in the models, in how positions are numbered from the padding id).
import { readBase, type BaseConfig, type BaseDefaults } from './base.js';
import { Fields, type Json } from './fields.js';

export type PositionEmbeddingType = 'absolute' | 'relative_key' | 'relative_key_query';

export interface BertConfig extends BaseConfig {
  model_type: 'bert' | 'roberta';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  position_embedding_type: PositionEmbeddingType;
  /** Dropout before the classification head; null means hidden_dropout_prob. */
  classifier_dropout: number | null;
  is_decoder: boolean;
}

export function parseBertConfig(raw: Json, path = 'config.json'): BertConfig {
  return readBert('bert', new Fields(raw, path), {
    tie_word_embeddings: true,
    pad_token_id: 0,
    bos_token_id: null,
    eos_token_id: null,
  });
}

export function parseRobertaConfig(raw: Json, path = 'config.json'): BertConfig {
  return readBert('roberta', new Fields(raw, path), {
    tie_word_embeddings: true,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
  });
}

function readBert(model_type: BertConfig['model_type'], f: Fields, defaults: BaseDefaults): BertConfig {
  const hidden_size = f.int('hidden_size', 768);
  const num_attention_heads = f.int('num_attention_heads', 12);
  if (hidden_size % num_attention_heads !== 0) {
    f.fail('num_attention_heads', `a divisor of hidden_size (${hidden_size})`, num_attention_heads);
  }
  return {
    model_type,
    ...readBase(f, defaults),
    vocab_size: f.int('vocab_size', 30522),
    hidden_size,
    num_hidden_layers: f.int('num_hidden_layers', 12),
    num_attention_heads,
    intermediate_size: f.int('intermediate_size', 3072),
    hidden_act: f.string('hidden_act', 'gelu'),
    hidden_dropout_prob: f.probability('hidden_dropout_prob', 0.1),
    attention_probs_dropout_prob: f.probability('attention_probs_dropout_prob', 0.1),
    max_position_embeddings: f.int('max_position_embeddings', 512),
    type_vocab_size: f.int('type_vocab_size', 2, 0),
    initializer_range: f.number('initializer_range', 0.02, 0),
    layer_norm_eps: f.number('layer_norm_eps', 1e-12, 0),
    position_embedding_type: f.oneOf<PositionEmbeddingType>(
      'position_embedding_type',
      ['absolute', 'relative_key', 'relative_key_query'],
      'absolute',
    ),
    classifier_dropout: f.nullableNumber('classifier_dropout', null, 0),
    is_decoder: f.bool('is_decoder', false),
  };
}
