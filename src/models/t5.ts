// T5 (HF's T5ForConditionalGeneration, and T5Model without the head): an encoder and a decoder stack of pre-norm blocks with
// T5LayerNorm (RMS, no bias), attention without the 1/√d scale (T5 folds it into the init) plus
// a learned relative position bias that block 0 computes and every block of the stack reuses,
// ReLU or gated-GELU MLPs, and an LM head tied to the shared embedding.
import { Tensor, tensor, crossEntropy, scaledDotProductAttention, ValueError, type DType } from '../tensor/index.js';
import { Dropout, Embedding, Linear, Module, ModuleList, RMSNorm, getActivation, type Activation } from '../nn/index.js';
import type { T5Config } from '../io/index.js';
import type { KVCache } from './cache.js';
import type { BaseModelOutput, ModelInputs, ModelOutput } from './outputs.js';
import type { GenerateOptions } from './generation.js';
import { EncoderDecoderCache, generateSeq2Seq, type DecodeInputs } from './t5-generation.js';
import { registerArchitecture } from './registry.js';
import { embedInputs, keyPaddingMask, mergeHeads, splitHeads } from './common.js';
import { savePretrained } from './save.js';
import { buildWithHfInit, type InitOverride } from './init-weights.js';

/**
 * HF's _relative_position_bucket for one relative position (key − query), in torch's float32
 * arithmetic so the bucket boundaries fall where HF's do. Bidirectional (encoder): half the
 * buckets for keys after the query; causal (decoder): keys after the query share bucket 0.
 * Small distances get a bucket each, larger ones logarithmically wider buckets up to maxDistance.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let buckets = numBuckets;
  let bucket = 0;
  let distance: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) bucket += buckets;
    distance = Math.abs(relative);
  } else {
    distance = -Math.min(relative, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const logRatio = f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(logRatio * (buckets - maxExact)));
  return bucket + Math.min(large, buckets - 1);
}

/** What an attention layer needs besides its input. */
interface AttentionContext {
  /** Cross-attention: the encoder output the keys and values come from (self-attention: absent). */
  source?: Tensor;
  /** Key padding mask [batch, keys] (bool), or null. */
  mask: Tensor | null;
  /** Relative position bias [1, heads, queries, keys] (self-attention only). */
  bias: Tensor | null;
  causal: boolean;
  /** Self-attention: appended to each step. Cross-attention: filled once, then read. */
  cache: KVCache | undefined;
  layerIdx: number;
}

export class T5Attention extends Module {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  /** Only block 0 of each stack has it (num_buckets × heads). */
  relative_attention_bias?: Embedding;
  private readonly heads: number;
  private readonly dropoutP: number;
  private readonly bidirectional: boolean;
  private readonly numBuckets: number;
  private readonly maxDistance: number;

  constructor(config: T5Config, { hasRelativeBias, isDecoder }: { hasRelativeBias: boolean; isDecoder: boolean }, dtype: DType) {
    super();
    const inner = config.num_heads * config.d_kv;
    this.q = new Linear(config.d_model, inner, { bias: false, dtype });
    this.k = new Linear(config.d_model, inner, { bias: false, dtype });
    this.v = new Linear(config.d_model, inner, { bias: false, dtype });
    this.o = new Linear(inner, config.d_model, { bias: false, dtype });
    if (hasRelativeBias) this.relative_attention_bias = new Embedding(config.relative_attention_num_buckets, config.num_heads, { dtype });
    this.heads = config.num_heads;
    this.dropoutP = config.dropout_rate;
    this.bidirectional = !isDecoder;
    this.numBuckets = config.relative_attention_num_buckets;
    this.maxDistance = config.relative_attention_max_distance;
  }

  /** The bias [1, heads, queries, keys] for queries at positions firstQuery, ... and keys at 0, 1, ... */
  positionBias(firstQuery: number, queries: number, keys: number): Tensor {
    if (!this.relative_attention_bias) throw new ValueError('T5Attention.positionBias: this layer has no relative_attention_bias');
    // One bucket per distinct key − query (from 1 − firstQuery − queries to keys − 1 − firstQuery).
    const lowest = -(firstQuery + queries - 1);
    const byRelative = Array.from({ length: Math.max(queries + keys - 1, 0) }, (_, r) =>
      relativePositionBucket(r + lowest, this.bidirectional, this.numBuckets, this.maxDistance));
    const buckets = new Array<number>(queries * keys);
    for (let i = 0; i < queries; i++) {
      for (let j = 0; j < keys; j++) buckets[i * keys + j] = byRelative[j - (firstQuery + i) - lowest]!;
    }
    const values = this.relative_attention_bias.forward(tensor(buckets, [queries, keys], 'int64'));
    // Contiguous once here rather than once per layer inside attention.
    return values.permute([2, 0, 1]).unsqueeze(0).contiguous();
  }

  forward(h: Tensor, ctx: AttentionContext): Tensor {
    const q = splitHeads(this.q.forward(h), this.heads);
    const cached = ctx.source ? ctx.cache?.get(ctx.layerIdx) : null;
    let k: Tensor;
    let v: Tensor;
    if (cached) {
      [k, v] = cached;
    } else {
      const from = ctx.source ?? h;
      k = splitHeads(this.k.forward(from), this.heads);
      v = splitHeads(this.v.forward(from), this.heads);
      if (ctx.cache) [k, v] = ctx.cache.update(ctx.layerIdx, k, v);
    }
    const out = scaledDotProductAttention(q, k, v, {
      keyPaddingMask: ctx.mask,
      bias: ctx.bias,
      causal: ctx.causal,
      scale: 1,
      dropoutP: this.training ? this.dropoutP : 0,
    });
    return this.o.forward(mergeHeads(out));
  }
}

export class T5LayerSelfAttention extends Module {
  SelfAttention: T5Attention;
  layer_norm: RMSNorm;
  dropout: Dropout;

  constructor(config: T5Config, options: { hasRelativeBias: boolean; isDecoder: boolean }, dtype: DType) {
    super();
    this.SelfAttention = new T5Attention(config, options, dtype);
    this.layer_norm = new RMSNorm(config.d_model, config.layer_norm_epsilon, { dtype });
    this.dropout = new Dropout(config.dropout_rate);
  }

  forward(h: Tensor, ctx: AttentionContext): Tensor {
    return h.add(this.dropout.forward(this.SelfAttention.forward(this.layer_norm.forward(h), ctx)));
  }
}

export class T5LayerCrossAttention extends Module {
  EncDecAttention: T5Attention;
  layer_norm: RMSNorm;
  dropout: Dropout;

  constructor(config: T5Config, dtype: DType) {
    super();
    this.EncDecAttention = new T5Attention(config, { hasRelativeBias: false, isDecoder: true }, dtype);
    this.layer_norm = new RMSNorm(config.d_model, config.layer_norm_epsilon, { dtype });
    this.dropout = new Dropout(config.dropout_rate);
  }

  forward(h: Tensor, ctx: AttentionContext): Tensor {
    return h.add(this.dropout.forward(this.EncDecAttention.forward(this.layer_norm.forward(h), ctx)));
  }
}

/** wo(dropout(act(wi(x)))). */
export class T5DenseActDense extends Module {
  wi: Linear;
  wo: Linear;
  dropout: Dropout;
  private readonly act: Activation;

  constructor(config: T5Config, dtype: DType) {
    super();
    this.wi = new Linear(config.d_model, config.d_ff, { bias: false, dtype });
    this.wo = new Linear(config.d_ff, config.d_model, { bias: false, dtype });
    this.dropout = new Dropout(config.dropout_rate);
    this.act = getActivation(config.dense_act_fn);
  }

  forward(h: Tensor): Tensor {
    return this.wo.forward(this.dropout.forward(this.act(this.wi.forward(h))));
  }
}

/** wo(dropout(act(wi_0(x)) · wi_1(x))) (T5 v1.1, Flan-T5: feed_forward_proj 'gated-gelu'). */
export class T5DenseGatedActDense extends Module {
  wi_0: Linear;
  wi_1: Linear;
  wo: Linear;
  dropout: Dropout;
  private readonly act: Activation;

  constructor(config: T5Config, dtype: DType) {
    super();
    this.wi_0 = new Linear(config.d_model, config.d_ff, { bias: false, dtype });
    this.wi_1 = new Linear(config.d_model, config.d_ff, { bias: false, dtype });
    this.wo = new Linear(config.d_ff, config.d_model, { bias: false, dtype });
    this.dropout = new Dropout(config.dropout_rate);
    this.act = getActivation(config.dense_act_fn);
  }

  forward(h: Tensor): Tensor {
    return this.wo.forward(this.dropout.forward(this.act(this.wi_0.forward(h)).mul(this.wi_1.forward(h))));
  }
}

export class T5LayerFF extends Module {
  DenseReluDense: T5DenseActDense | T5DenseGatedActDense;
  layer_norm: RMSNorm;
  dropout: Dropout;

  constructor(config: T5Config, dtype: DType) {
    super();
    this.DenseReluDense = config.is_gated_act ? new T5DenseGatedActDense(config, dtype) : new T5DenseActDense(config, dtype);
    this.layer_norm = new RMSNorm(config.d_model, config.layer_norm_epsilon, { dtype });
    this.dropout = new Dropout(config.dropout_rate);
  }

  forward(h: Tensor): Tensor {
    return h.add(this.dropout.forward(this.DenseReluDense.forward(this.layer_norm.forward(h))));
  }
}

/** What every block of a stack shares in one forward. */
interface StackContext {
  selfAttention: Omit<AttentionContext, 'layerIdx'>;
  /** Decoder only. */
  crossAttention?: Omit<AttentionContext, 'layerIdx'>;
}

/** layer.0 self-attention, (decoder) layer.1 cross-attention, then the MLP. */
export class T5Block extends Module {
  layer: ModuleList<T5LayerSelfAttention | T5LayerCrossAttention | T5LayerFF>;

  constructor(config: T5Config, { hasRelativeBias, isDecoder }: { hasRelativeBias: boolean; isDecoder: boolean }, dtype: DType) {
    super();
    this.layer = new ModuleList<T5LayerSelfAttention | T5LayerCrossAttention | T5LayerFF>([
      new T5LayerSelfAttention(config, { hasRelativeBias, isDecoder }, dtype),
      ...(isDecoder ? [new T5LayerCrossAttention(config, dtype)] : []),
      new T5LayerFF(config, dtype),
    ]);
  }

  forward(h: Tensor, ctx: StackContext, layerIdx: number): Tensor {
    h = (this.layer.at(0) as T5LayerSelfAttention).forward(h, { ...ctx.selfAttention, layerIdx });
    if (ctx.crossAttention) h = (this.layer.at(1) as T5LayerCrossAttention).forward(h, { ...ctx.crossAttention, layerIdx });
    return (this.layer.at(-1) as T5LayerFF).forward(h);
  }
}

export interface T5StackInputs {
  inputIds?: Tensor;
  inputsEmbeds?: Tensor;
  /** Padding of this stack's own tokens [batch, past + seq]. */
  attentionMask?: Tensor;
  /** Decoder: the encoder output and its padding mask. */
  encoderHiddenStates?: Tensor;
  encoderAttentionMask?: Tensor;
  /** Decoder: self-attention cache; an EncoderDecoderCache also keeps the cross-attention keys/values. */
  cache?: KVCache;
}

/** The encoder or the decoder (HF's T5Stack). */
export class T5Stack extends Module {
  embed_tokens: Embedding;
  block: ModuleList<T5Block>;
  final_layer_norm: RMSNorm;
  dropout: Dropout;
  private readonly isDecoder: boolean;

  /** `embed_tokens` shares its weight with `shared`. */
  constructor(config: T5Config, isDecoder: boolean, shared: Embedding, dtype: DType) {
    super();
    this.embed_tokens = new Embedding(config.vocab_size, config.d_model, { dtype });
    this.embed_tokens.weight = shared.weight;
    const layers = isDecoder ? config.num_decoder_layers : config.num_layers;
    this.block = new ModuleList(Array.from({ length: layers }, (_, i) => new T5Block(config, { hasRelativeBias: i === 0, isDecoder }, dtype)));
    this.final_layer_norm = new RMSNorm(config.d_model, config.layer_norm_epsilon, { dtype });
    this.dropout = new Dropout(config.dropout_rate);
    this.isDecoder = isDecoder;
  }

  /** The final hidden states [batch, seq, d_model]. */
  forward(inputs: T5StackInputs): Tensor {
    let h = this.dropout.forward(embedInputs(inputs, this.embed_tokens));
    const [batch, seq] = h.shape as [number, number];
    const past = inputs.cache?.length ?? 0;
    const firstAttention = (this.block.at(0).layer.at(0) as T5LayerSelfAttention).SelfAttention;
    const ctx: StackContext = {
      selfAttention: {
        mask: keyPaddingMask(inputs.attentionMask, batch, past + seq),
        bias: firstAttention.positionBias(past, seq, past + seq),
        causal: this.isDecoder,
        cache: inputs.cache,
      },
    };
    if (this.isDecoder) {
      const source = inputs.encoderHiddenStates;
      if (!source) throw new ValueError('the T5 decoder needs encoderHiddenStates (the encoder output)');
      ctx.crossAttention = {
        source,
        mask: keyPaddingMask(inputs.encoderAttentionMask, batch, source.shape[1]!),
        bias: null,
        causal: false,
        cache: inputs.cache instanceof EncoderDecoderCache ? inputs.cache.crossAttention : undefined,
      };
    }
    let i = 0;
    for (const block of this.block) h = block.forward(h, ctx, i++);
    return this.dropout.forward(this.final_layer_norm.forward(h));
  }
}

/** HF's _shift_right: decoder inputs are the labels moved one step right after decoder_start_token_id, -100 read as pad. */
export function shiftRight(labels: Tensor, decoderStartTokenId: number, padTokenId: number): Tensor {
  const [batch, seq] = labels.shape as [number, number];
  const ids = labels.toFlatArray();
  const out = ids.map((_, i) => {
    const t = i % seq === 0 ? decoderStartTokenId : ids[i - 1]!;
    return t === -100 ? padTokenId : t;
  });
  return tensor(out, [batch, seq], 'int64');
}

/** What T5Model and T5ForConditionalGeneration share: the embedding table and both stacks. */
abstract class T5EncoderDecoder extends Module {
  shared!: Embedding;
  encoder!: T5Stack;
  decoder!: T5Stack;

  constructor(readonly config: T5Config, dtype: DType) {
    super();
    buildWithHfInit(this, () => {
      this.shared = new Embedding(config.vocab_size, config.d_model, { dtype });
      this.encoder = new T5Stack(config, false, this.shared, dtype);
      this.decoder = new T5Stack(config, true, this.shared, dtype);
      this.buildHead(config, dtype);
    }, config.initializer_factor, t5Init(config));
  }

  /** A task class's head, built (and drawn) with the rest of the model. */
  protected buildHead(_config: T5Config, _dtype: DType): void {}

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  /** The encoder output [batch, source, d_model] for inputIds (or inputsEmbeds) and attentionMask. */
  encode(inputs: ModelInputs): Tensor {
    return this.encoder.forward({ inputIds: inputs.inputIds, inputsEmbeds: inputs.inputsEmbeds, attentionMask: inputs.attentionMask });
  }

  /** The decoder's hidden states [batch, target, d_model] against an encoder output. */
  protected decoderHidden(inputs: DecodeInputs & { decoderAttentionMask?: Tensor }): Tensor {
    return this.decoder.forward({
      inputIds: inputs.decoderInputIds,
      attentionMask: inputs.decoderAttentionMask,
      encoderHiddenStates: inputs.encoderHiddenStates,
      encoderAttentionMask: inputs.encoderAttentionMask,
      cache: inputs.cache,
    });
  }

  /** The decoder's inputs: decoderInputIds, or labels shifted right. */
  protected decoderInputIds(inputs: ModelInputs): Tensor {
    const ids = inputs.decoderInputIds
      ?? (inputs.labels ? shiftRight(inputs.labels, this.config.decoder_start_token_id, this.config.pad_token_id ?? 0) : undefined);
    if (!ids) throw new ValueError(`${this.constructor.name} forward needs decoderInputIds, or labels to derive them from`);
    return ids;
  }

  /** Encoder over the inputs, decoder over its inputs against that: the decoder's hidden states. */
  protected hiddenStates(inputs: ModelInputs): Tensor {
    return this.decoderHidden({
      decoderInputIds: this.decoderInputIds(inputs),
      decoderAttentionMask: inputs.decoderAttentionMask,
      encoderHiddenStates: this.encode(inputs),
      encoderAttentionMask: inputs.attentionMask,
      cache: inputs.pastKeyValues,
    });
  }
}

/** HF's T5Model: the encoder-decoder without a head; its output is the decoder's last hidden state. */
export class T5Model extends T5EncoderDecoder {
  forward(inputs: ModelInputs): BaseModelOutput {
    return { lastHiddenState: this.hiddenStates(inputs), poolerOutput: null, pastKeyValues: inputs.pastKeyValues };
  }
}

export class T5ForConditionalGeneration extends T5EncoderDecoder {
  // Set by buildHead during the base constructor: `declare` keeps the class field from resetting it.
  declare lm_head: Linear;

  constructor(config: T5Config, dtype: DType = 'float32') {
    super(config, dtype);
  }

  protected override buildHead(config: T5Config, dtype: DType): void {
    this.lm_head = new Linear(config.d_model, config.vocab_size, { bias: false, dtype });
    if (config.tie_word_embeddings) this.lm_head.weight = this.shared.weight;
  }

  /** Decoder logits [batch, target, vocab] against an encoder output. */
  decode(inputs: DecodeInputs & { decoderAttentionMask?: Tensor }): Tensor {
    return this.head(this.decoderHidden(inputs));
  }

  /** With tied embeddings the head reuses the input table, so T5 rescales by d_model^-0.5 first. */
  private head(hidden: Tensor): Tensor {
    return this.lm_head.forward(this.config.scale_decoder_outputs ? hidden.mul(this.config.d_model ** -0.5) : hidden);
  }

  /**
   * Encoder over inputIds/inputsEmbeds + attentionMask, decoder over decoderInputIds (default:
   * labels shifted right). The loss is the mean cross-entropy of logits against labels (no shift:
   * position t predicts labels[t]), -100 ignored.
   */
  forward(inputs: ModelInputs): ModelOutput {
    const logits = this.head(this.hiddenStates(inputs));
    const vocab = logits.shape[2]!;
    const loss = inputs.labels
      ? crossEntropy(logits.reshape([-1, vocab]).to('float32'), inputs.labels.reshape([-1]), { ignoreIndex: -100 })
      : undefined;
    return { logits, loss, pastKeyValues: inputs.pastKeyValues };
  }

  /** Greedy or sampled decoder sequences for prompts `inputIds` [batch, source], starting with decoder_start_token_id. */
  generate(inputIds: Tensor, options: GenerateOptions = {}): Tensor {
    return generateSeq2Seq(this, inputIds, options);
  }
}

/**
 * T5PreTrainedModel._init_weights: every weight has its own std, scaled by initializer_factor
 * (T5 folds attention's 1/√d into these instead of scaling the scores): the shared embedding and
 * an untied head 1; q (d_model·d_kv)^-½; k, v, the relative position bias and wi d_model^-½; o
 * (heads·d_kv)^-½; wo d_ff^-½; the RMS norms factor.
 */
function t5Init(config: T5Config): InitOverride {
  const factor = config.initializer_factor;
  const perModel = factor * config.d_model ** -0.5;
  const stds: Record<string, number> = {
    shared: factor,
    lm_head: factor,
    q: factor * (config.d_model * config.d_kv) ** -0.5,
    k: perModel,
    v: perModel,
    o: factor * (config.num_heads * config.d_kv) ** -0.5,
    relative_attention_bias: perModel,
    wi: perModel,
    wi_0: perModel,
    wi_1: perModel,
    wo: factor * config.d_ff ** -0.5,
  };
  return (path, name, owner) => {
    if (owner instanceof RMSNorm) return { fill: factor };
    const std = stds[path.slice(path.lastIndexOf('.') + 1)];
    return std === undefined || name !== 'weight' ? undefined : { std };
  };
}

registerArchitecture('T5ForConditionalGeneration', {
  task: 'seq2seq-lm',
  basePrefix: 'transformer',
  build: (config, dtype) => new T5ForConditionalGeneration(config as T5Config, dtype),
  // Checkpoints of older transformers saved a cross-attention bias table that nothing reads.
  ignoredKeys: /^decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight$/,
});

registerArchitecture('T5Model', {
  task: 'base',
  basePrefix: 'transformer',
  build: (config, dtype) => new T5Model(config as T5Config, dtype),
  // A T5ForConditionalGeneration checkpoint's untied head, and the bias table older versions saved.
  ignoredKeys: /^lm_head\.|^decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight$/,
});
