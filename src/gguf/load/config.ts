// A GGUF model's `<arch>.*` metadata as the HF config.json our model classes read, the inverse of
// convert_hf_to_gguf.py's set_gguf_parameters (TextModel, LlamaModel, Qwen2Model, GPT2Model) and of
// gguf-export's model-metadata.ts. Mistral-style files are llama files (the converter writes them so).
import { parseConfig, type ModelConfig } from '../../io/index.js';
import { GgufFormatError } from '../errors.js';
import type { GgufMetadata } from '../metadata.js';
import type { GgufArchitectureName } from '../names.js';
import { llama3RopeFromFactors, ROPE_FREQS_TENSOR } from '../rope-freqs.js';

const ARCHITECTURES: Record<GgufArchitectureName, string> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  gpt2: 'GPT2LMHeadModel',
};

/** The architecture of a GGUF file, checked to be one peftjs reads. */
export function ggufArchitectureOf(metadata: GgufMetadata): GgufArchitectureName {
  const arch = metadata.string('general.architecture');
  if (arch === undefined)
    throw new GgufFormatError(
      metadata.path,
      'is missing; this GGUF file names no architecture',
      'general.architecture',
    );
  if (!Object.hasOwn(ARCHITECTURES, arch)) {
    throw new GgufFormatError(
      metadata.path,
      `'${arch}' is not an architecture peftjs reads from GGUF; it reads ${Object.keys(ARCHITECTURES).join(', ')}`,
      'general.architecture',
    );
  }
  return arch as GgufArchitectureName;
}

/**
 * The config of a GGUF model. `tensorNames` are the file's tensor names (the output head is tied
 * when `output.weight` is absent); `vocabRows` is token_embd's row count (vocab_size when the
 * metadata does not say it); `ropeFreqs` is the file's rope_freqs.weight (Llama 3 rope scaling).
 */
export function configFromGguf(
  metadata: GgufMetadata,
  tensorNames: ReadonlySet<string>,
  vocabRows: number,
  ropeFreqs?: Float32Array,
): ModelConfig {
  const arch = ggufArchitectureOf(metadata);
  const required = (key: string): number => {
    const n = metadata.count(`${arch}.${key}`);
    if (n === undefined)
      throw new GgufFormatError(metadata.path, 'is missing; a model file states it', `${arch}.${key}`);
    return n;
  };
  const optional = (key: string): number | undefined => metadata.number(`${arch}.${key}`);
  const tokenId = (name: string): number | undefined => metadata.count(`tokenizer.ggml.${name}_token_id`);
  const common = {
    architectures: [ARCHITECTURES[arch]],
    vocab_size: metadata.count(`${arch}.vocab_size`) ?? vocabRows,
    tie_word_embeddings: !tensorNames.has('output.weight'),
    bos_token_id: tokenId('bos') ?? null,
    eos_token_id: tokenId('eos') ?? null,
  };
  if (arch === 'gpt2') {
    return parseConfig(
      {
        ...common,
        model_type: 'gpt2',
        n_positions: required('context_length'),
        n_embd: required('embedding_length'),
        n_inner: required('feed_forward_length'),
        n_layer: required('block_count'),
        n_head: required('attention.head_count'),
        layer_norm_epsilon: optional('attention.layer_norm_epsilon') ?? 1e-5,
        activation_function: 'gelu_new',
      },
      metadata.path,
    );
  }
  const hidden = required('embedding_length');
  const heads = required('attention.head_count');
  const headDim = optional('attention.key_length') ?? hidden / heads;
  const theta = optional('rope.freq_base') ?? 10000;
  return parseConfig(
    {
      ...common,
      model_type: arch,
      hidden_size: hidden,
      intermediate_size: required('feed_forward_length'),
      num_hidden_layers: required('block_count'),
      num_attention_heads: heads,
      num_key_value_heads: optional('attention.head_count_kv') ?? heads,
      head_dim: headDim,
      max_position_embeddings: required('context_length'),
      rms_norm_eps: optional('attention.layer_norm_rms_epsilon') ?? 1e-6,
      rope_theta: theta,
      rope_scaling: ropeScaling(metadata, arch, theta, headDim, ropeFreqs),
      ...(arch === 'llama' ? { attention_bias: tensorNames.has('blk.0.attn_q.bias') } : {}),
      hidden_act: 'silu',
    },
    metadata.path,
  );
}

/** HF's rope_scaling for the file's `<arch>.rope.scaling.*` metadata or its rope_freqs.weight (Llama 3). */
function ropeScaling(
  metadata: GgufMetadata,
  arch: GgufArchitectureName,
  theta: number,
  headDim: number,
  ropeFreqs: Float32Array | undefined,
): Record<string, unknown> | null {
  const key = (name: string) => `${arch}.rope.scaling.${name}`;
  const type = metadata.string(key('type')) ?? 'none';
  if (ropeFreqs !== undefined) {
    const rope = llama3RopeFromFactors(ropeFreqs, theta, headDim);
    if (rope !== null && 'mismatch' in rope)
      throw new GgufFormatError(metadata.path, `cannot be read as rope scaling: ${rope.mismatch}`, ROPE_FREQS_TENSOR);
    if (rope !== null && type !== 'none')
      throw new GgufFormatError(metadata.path, `'${type}' and rope_freqs.weight (Llama 3) both scale rope; a file has one`, key('type'));
    if (rope !== null) return rope;
  }
  const factor = metadata.number(key('factor'));
  const needFactor = (): number => {
    if (factor === undefined || !(factor > 0))
      throw new GgufFormatError(metadata.path, `'${type}' rope scaling needs a positive factor`, key('factor'));
    return factor;
  };
  switch (type) {
    case 'none':
      return null;
    case 'linear':
      return { rope_type: 'linear', factor: needFactor() };
    case 'yarn': {
      // convert_hf_to_gguf.py (ModelBase.set_gguf_parameters) writes these keys from HF's yarn parameters.
      const original = metadata.count(key('original_context_length'));
      if (original === undefined)
        throw new GgufFormatError(metadata.path, "is missing; 'yarn' rope scaling states it", key('original_context_length'));
      const optionalKey = (name: string, hf: string) => {
        const v = metadata.number(key(name));
        return v === undefined ? {} : { [hf]: v };
      };
      return {
        rope_type: 'yarn',
        factor: needFactor(),
        original_max_position_embeddings: original,
        ...optionalKey('yarn_attn_factor', 'attention_factor'),
        ...optionalKey('yarn_beta_fast', 'beta_fast'),
        ...optionalKey('yarn_beta_slow', 'beta_slow'),
      };
    }
    default:
      throw new GgufFormatError(
        metadata.path,
        `'${type}' rope scaling is not read yet; peftjs reads none, linear, yarn and Llama 3's rope_freqs.weight`,
        key('type'),
      );
  }
}
