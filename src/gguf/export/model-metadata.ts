// A model's config as the `<arch>.*` metadata llama.cpp reads, following convert_hf_to_gguf.py
// (TextModel.set_gguf_parameters, LlamaModel, Qwen2Model, GPT2Model): llama (also Mistral-style
// configs, written as llama as the converter does), qwen2 and gpt2.
import type { GPT2Config, LlamaConfig, MistralConfig, ModelConfig, Qwen2Config } from '../../io/index.js';
import { gguf, type GgufValue } from '../metadata.js';
import { GgufExportError } from './errors.js';

/** llama.cpp's architecture name for a config, and how its Q/K rows are ordered in GGUF. */
export interface GgufArchitecture {
  /** general.architecture. */
  name: 'llama' | 'qwen2' | 'gpt2';
  /** Query and key heads whose rows the converter permutes (llama only: qwen2 uses NEOX rope). */
  ropePermute: { q: number; k: number } | null;
}

export function ggufArchitecture(config: ModelConfig): GgufArchitecture {
  switch (config.model_type) {
    case 'llama':
    case 'mistral':
      return { name: 'llama', ropePermute: { q: config.num_attention_heads, k: config.num_key_value_heads } };
    case 'qwen2':
      return { name: 'qwen2', ropePermute: null };
    case 'gpt2':
      return { name: 'gpt2', ropePermute: null };
    default:
      throw new GgufExportError(
        `llama.cpp export supports llama, mistral, qwen2 and gpt2 models; this one is ${config.model_type}`,
      );
  }
}

/** `<arch>.*` hyperparameters of `config` (no general.* and no tokenizer keys). */
export function architectureMetadata(config: ModelConfig): Map<string, GgufValue> {
  const arch = ggufArchitecture(config).name;
  const m = new Map<string, GgufValue>();
  const set = (key: string, value: GgufValue) => m.set(`${arch}.${key}`, value);
  if (config.model_type === 'gpt2') {
    const c = config as GPT2Config;
    set('context_length', gguf.u32(c.n_positions));
    set('embedding_length', gguf.u32(c.n_embd));
    set('feed_forward_length', gguf.u32(c.n_inner));
    set('block_count', gguf.u32(c.n_layer));
    set('attention.head_count', gguf.u32(c.n_head));
    set('attention.layer_norm_epsilon', gguf.f32(c.layer_norm_epsilon));
    set('vocab_size', gguf.u32(c.vocab_size));
    return m;
  }
  const c = config as LlamaConfig | Qwen2Config | MistralConfig;
  set('vocab_size', gguf.u32(c.vocab_size));
  set('context_length', gguf.u32(c.max_position_embeddings));
  set('embedding_length', gguf.u32(c.hidden_size));
  set('feed_forward_length', gguf.u32(c.intermediate_size));
  set('block_count', gguf.u32(c.num_hidden_layers));
  set('attention.head_count', gguf.u32(c.num_attention_heads));
  set('attention.head_count_kv', gguf.u32(c.num_key_value_heads));
  set('attention.layer_norm_rms_epsilon', gguf.f32(c.rms_norm_eps));
  set('rope.dimension_count', gguf.u32(c.head_dim));
  if (c.head_dim * c.num_attention_heads !== c.hidden_size) {
    set('attention.key_length', gguf.u32(c.head_dim));
    set('attention.value_length', gguf.u32(c.head_dim));
  }
  const rope = c.rope_parameters;
  set('rope.freq_base', gguf.f32(rope.rope_theta));
  if (rope.rope_type === 'linear') {
    set('rope.scaling.type', gguf.str('linear'));
    set('rope.scaling.factor', gguf.f32(rope.factor));
  } else if (rope.rope_type !== 'default' && rope.rope_type !== 'llama3') {
    // llama3 has no metadata: its divisors are the tensor rope_freqs.weight (model-tensors.ts).
    throw new GgufExportError(
      `rope_type '${rope.rope_type}' is not exported to GGUF yet; peftjs writes default, linear and llama3 rope scaling`,
    );
  }
  if (c.model_type === 'qwen2' && (c as Qwen2Config).sliding_window !== null) {
    throw new GgufExportError(
      `this Qwen2 model uses sliding-window attention (use_sliding_window), which llama.cpp's qwen2 does not apply; it cannot be exported faithfully`,
    );
  }
  return m;
}
