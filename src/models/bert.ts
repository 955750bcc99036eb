// BERT and RoBERTa (HF's BertModel, BertForSequenceClassification, BertForTokenClassification and
// their Roberta* twins): post-norm encoder layers, learned absolute positions, segment (token
// type) embeddings. RoBERTa differs in how positions are numbered (from padding_idx + 1, skipping
// padding tokens) and in its sequence-classification head.
import { Tensor, arange, releaseUnread, scaledDotProductAttention, zeros, ShapeError, ValueError, formatShape, type DType } from '../tensor/index.js';
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, getActivation, type Activation } from '../nn/index.js';
import type { BertConfig } from '../io/index.js';
import type { KVCache } from './cache.js';
import type { BaseModelOutput, ModelInputs, ModelOutput } from './outputs.js';
import { registerArchitecture, type ArchitectureEntry, type ModelTask, type PretrainedModel } from './registry.js';
import { embedInputs, keyPaddingMask, mergeHeads, splitHeads } from './common.js';
import { sequenceClassificationLoss, tokenClassificationLoss } from './classification.js';
import { savePretrained } from './save.js';
import { buildWithHfInit } from './init-weights.js';

export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(protected readonly config: BertConfig, dtype: DType) {
    super();
    const padding = { paddingIdx: config.pad_token_id, dtype };
    this.word_embeddings = new Embedding(config.vocab_size, config.hidden_size, padding);
    // RoBERTa's position table has a padding row too (its positions count from padding_idx + 1).
    this.position_embeddings = new Embedding(config.max_position_embeddings, config.hidden_size, config.model_type === 'roberta' ? padding : { dtype });
    this.token_type_embeddings = new Embedding(config.type_vocab_size, config.hidden_size, { dtype });
    this.LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps, { dtype });
    this.dropout = new Dropout(config.hidden_dropout_prob);
  }

  /** LayerNorm(word + position + token type), after `past` positions already seen (prefix tuning). */
  forward(inputs: ModelInputs, past: number): Tensor {
    const words = embedInputs(inputs, this.word_embeddings);
    const [batch, seq] = words.shape as [number, number];
    const positions = inputs.positionIds ?? this.positionIds(inputs, batch, seq, past);
    checkIds('positionIds', positions, batch, seq);
    const types = inputs.tokenTypeIds ?? zeros([batch, seq], 'int64');
    checkIds('tokenTypeIds', types, batch, seq);
    const sum = words.add(this.token_type_embeddings.forward(types)).add(this.position_embeddings.forward(positions));
    return this.dropout.forward(this.LayerNorm.forward(sum));
  }

  /** BERT: past, past + 1, ... for every row. */
  protected positionIds(_inputs: ModelInputs, batch: number, seq: number, past: number): Tensor {
    checkLength(past + seq, this.config.max_position_embeddings);
    return arange(past, past + seq).unsqueeze(0).expand([batch, seq]);
  }
}

/** RoBERTa numbers real tokens from padding_idx + 1 and gives padding tokens padding_idx itself. */
export class RobertaEmbeddings extends BertEmbeddings {
  protected override positionIds(inputs: ModelInputs, batch: number, seq: number, past: number): Tensor {
    const pad = this.config.pad_token_id ?? 1;
    // HF's create_position_ids_from_inputs_embeds: embeddings carry no padding to skip (and, as
    // in HF, no offset for past positions either).
    if (!inputs.inputIds) {
      checkLength(pad + 1 + seq, this.config.max_position_embeddings);
      return arange(pad + 1, pad + 1 + seq).unsqueeze(0).expand([batch, seq]);
    }
    checkLength(pad + 1 + past + seq, this.config.max_position_embeddings);
    // HF's create_position_ids_from_input_ids: (cumsum(real) + past) · real + padding_idx.
    const real = inputs.inputIds.ne(pad).to('int64');
    return real.cumsum(1).add(past).mul(real).add(pad);
  }
}

interface LayerContext {
  /** [batch, past + seq] keep-mask, or null when every key is real. */
  mask: Tensor | null;
  cache: KVCache | undefined;
  causal: boolean;
}

export class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  dropout: Dropout;
  private readonly heads: number;

  constructor(config: BertConfig, readonly layerIdx: number, dtype: DType) {
    super();
    const h = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.query = new Linear(h, h, { dtype });
    this.key = new Linear(h, h, { dtype });
    this.value = new Linear(h, h, { dtype });
    this.dropout = new Dropout(config.attention_probs_dropout_prob);
  }

  forward(h: Tensor, ctx: LayerContext): Tensor {
    const q = splitHeads(this.query.forward(h), this.heads);
    let k = splitHeads(this.key.forward(h), this.heads);
    let v = splitHeads(this.value.forward(h), this.heads);
    if (ctx.cache) [k, v] = ctx.cache.update(this.layerIdx, k, v);
    const out = scaledDotProductAttention(q, k, v, {
      causal: ctx.causal,
      keyPaddingMask: ctx.mask,
      dropoutP: this.training ? this.dropout.p : 0,
    });
    const merged = mergeHeads(out);
    // Attention read its own copies of the heads; a cache keeps k and v.
    releaseUnread(ctx.cache ? [q, out] : [q, k, v, out], [merged, h]);
    return merged;
  }
}

/** dense, dropout, then LayerNorm over the residual sum (post-norm). */
export class BertSelfOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  /** Adds the residual itself: a parallel adapter here adapts the residual (see bottleneck adapters). */
  readonly addsResidual = true as const;

  constructor(config: BertConfig, dtype: DType, inFeatures = config.hidden_size) {
    super();
    this.dense = new Linear(inFeatures, config.hidden_size, { dtype });
    this.LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps, { dtype });
    this.dropout = new Dropout(config.hidden_dropout_prob);
  }

  forward(h: Tensor, residual: Tensor): Tensor {
    const projected = this.dense.forward(h);
    const dropped = this.dropout.forward(projected);
    const out = this.LayerNorm.forward(dropped.add(residual));
    releaseUnread([projected, dropped], [out, h, residual]);
    return out;
  }
}

/** The feed-forward output has BertSelfOutput's shape of computation, from the intermediate width. */
export class BertOutput extends BertSelfOutput {
  constructor(config: BertConfig, dtype: DType) {
    super(config, dtype, config.intermediate_size);
  }
}

export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertSelfOutput;

  constructor(config: BertConfig, layerIdx: number, dtype: DType) {
    super();
    this.self = new BertSelfAttention(config, layerIdx, dtype);
    this.output = new BertSelfOutput(config, dtype);
  }

  forward(h: Tensor, ctx: LayerContext): Tensor {
    const attended = this.self.forward(h, ctx);
    const out = this.output.forward(attended, h);
    releaseUnread([attended], [out, h]);
    return out;
  }
}

export class BertIntermediate extends Module {
  dense: Linear;
  private readonly act: Activation;

  constructor(config: BertConfig, dtype: DType) {
    super();
    this.dense = new Linear(config.hidden_size, config.intermediate_size, { dtype });
    this.act = getActivation(config.hidden_act);
  }

  forward(h: Tensor): Tensor {
    return this.act(this.dense.forward(h));
  }
}

export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertOutput;

  constructor(config: BertConfig, layerIdx: number, dtype: DType) {
    super();
    this.attention = new BertAttention(config, layerIdx, dtype);
    this.intermediate = new BertIntermediate(config, dtype);
    this.output = new BertOutput(config, dtype);
  }

  forward(h: Tensor, ctx: LayerContext): Tensor {
    const a = this.attention.forward(h, ctx);
    const inner = this.intermediate.forward(a);
    const out = this.output.forward(inner, a);
    // The post-norm residual a and the feed-forward activation: read by frozen projections and sums only.
    releaseUnread([inner, a], [out, h]);
    return out;
  }
}

export class BertEncoder extends Module {
  layer: ModuleList<BertLayer>;

  constructor(config: BertConfig, dtype: DType) {
    super();
    this.layer = new ModuleList(Array.from({ length: config.num_hidden_layers }, (_, i) => new BertLayer(config, i, dtype)));
  }

  forward(h: Tensor, ctx: LayerContext): Tensor {
    for (const layer of this.layer) h = layer.forward(h, ctx);
    return h;
  }
}

export class BertPooler extends Module {
  dense: Linear;

  constructor(config: BertConfig, dtype: DType) {
    super();
    this.dense = new Linear(config.hidden_size, config.hidden_size, { dtype });
  }

  /** tanh(dense(hidden state of the first token)). */
  forward(h: Tensor): Tensor {
    return this.dense.forward(h.select(1, 0)).tanh();
  }
}

export interface BertModelOptions {
  /** HF's add_pooling_layer (default true; the task heads that read every token leave it out). */
  addPoolingLayer?: boolean;
}

// BertPreTrainedModel._init_weights (RoBERTa's is the same): the common rules of init-weights.ts
// with initializer_range, padding rows zero. A task class builds its base model inside its own
// build, so the whole model is drawn once, in module order.
export class BertModel extends Module implements PretrainedModel<BaseModelOutput> {
  embeddings!: BertEmbeddings;
  encoder!: BertEncoder;
  pooler!: BertPooler | null;

  constructor(readonly config: BertConfig, { addPoolingLayer = true }: BertModelOptions = {}, dtype: DType = 'float32') {
    super();
    if (config.position_embedding_type !== 'absolute') {
      throw new ValueError(`position_embedding_type '${config.position_embedding_type}' is not supported; peftjs implements BERT's 'absolute' positions`);
    }
    buildWithHfInit(this, () => {
      this.embeddings = config.model_type === 'roberta' ? new RobertaEmbeddings(config, dtype) : new BertEmbeddings(config, dtype);
      this.encoder = new BertEncoder(config, dtype);
      this.pooler = addPoolingLayer ? new BertPooler(config, dtype) : null;
    }, config.initializer_range);
  }

  /**
   * attentionMask is [batch, past + seq] where pastKeyValues holds `past` positions (prefix
   * tuning's virtual tokens); positions then continue after them, as in HF.
   */
  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): BaseModelOutput {
    const past = inputs.pastKeyValues?.length ?? 0;
    const h = this.embeddings.forward(inputs, past);
    const [batch, seq] = h.shape as [number, number];
    const ctx: LayerContext = {
      mask: keyPaddingMask(inputs.attentionMask, batch, past + seq),
      cache: inputs.pastKeyValues,
      causal: this.config.is_decoder,
    };
    const hidden = this.encoder.forward(h, ctx);
    return { lastHiddenState: hidden, poolerOutput: this.pooler ? this.pooler.forward(hidden) : null, pastKeyValues: inputs.pastKeyValues };
  }
}

/** RoBERTa's module tree is BERT's; the config's model_type selects its position numbering. */
export class RobertaModel extends BertModel {}

/** Dropout, then a linear classifier on the pooled [CLS] state. */
export class BertForSequenceClassification extends Module {
  bert!: BertModel;
  dropout!: Dropout;
  classifier!: Linear;

  constructor(readonly config: BertConfig, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.bert = new BertModel(config, {}, dtype);
      this.dropout = new Dropout(classifierDropout(config));
      this.classifier = new Linear(config.hidden_size, config.num_labels, { dtype });
    }, config.initializer_range);
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const { lastHiddenState, poolerOutput } = this.bert.forward(inputs);
    const logits = this.classifier.forward(this.dropout.forward(poolerOutput!));
    const loss = inputs.labels ? sequenceClassificationLoss(logits, inputs.labels, this.config) : undefined;
    return { logits, loss, lastHiddenState, pastKeyValues: inputs.pastKeyValues };
  }
}

/** Dropout, then a linear classifier on every token's hidden state; -100 labels are ignored. */
export class BertForTokenClassification extends Module {
  bert!: BertModel;
  dropout!: Dropout;
  classifier!: Linear;

  constructor(readonly config: BertConfig, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.bert = new BertModel(config, { addPoolingLayer: false }, dtype);
      this.dropout = new Dropout(classifierDropout(config));
      this.classifier = new Linear(config.hidden_size, config.num_labels, { dtype });
    }, config.initializer_range);
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const { lastHiddenState } = this.bert.forward(inputs);
    const logits = this.classifier.forward(this.dropout.forward(lastHiddenState));
    const loss = inputs.labels ? tokenClassificationLoss(logits, inputs.labels) : undefined;
    return { logits, loss, lastHiddenState, pastKeyValues: inputs.pastKeyValues };
  }
}

/** RoBERTa's sequence head reads the <s> token: dropout, dense, tanh, dropout, out_proj. */
export class RobertaClassificationHead extends Module {
  dense: Linear;
  dropout: Dropout;
  out_proj: Linear;

  constructor(config: BertConfig, dtype: DType) {
    super();
    this.dense = new Linear(config.hidden_size, config.hidden_size, { dtype });
    this.dropout = new Dropout(classifierDropout(config));
    this.out_proj = new Linear(config.hidden_size, config.num_labels, { dtype });
  }

  forward(hidden: Tensor): Tensor {
    const x = this.dense.forward(this.dropout.forward(hidden.select(1, 0))).tanh();
    return this.out_proj.forward(this.dropout.forward(x));
  }
}

export class RobertaForSequenceClassification extends Module {
  roberta!: RobertaModel;
  classifier!: RobertaClassificationHead;

  constructor(readonly config: BertConfig, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.roberta = new RobertaModel(config, { addPoolingLayer: false }, dtype);
      this.classifier = new RobertaClassificationHead(config, dtype);
    }, config.initializer_range);
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const { lastHiddenState } = this.roberta.forward(inputs);
    const logits = this.classifier.forward(lastHiddenState);
    const loss = inputs.labels ? sequenceClassificationLoss(logits, inputs.labels, this.config) : undefined;
    return { logits, loss, lastHiddenState, pastKeyValues: inputs.pastKeyValues };
  }
}

export class RobertaForTokenClassification extends Module {
  roberta!: RobertaModel;
  dropout!: Dropout;
  classifier!: Linear;

  constructor(readonly config: BertConfig, dtype: DType = 'float32') {
    super();
    buildWithHfInit(this, () => {
      this.roberta = new RobertaModel(config, { addPoolingLayer: false }, dtype);
      this.dropout = new Dropout(classifierDropout(config));
      this.classifier = new Linear(config.hidden_size, config.num_labels, { dtype });
    }, config.initializer_range);
  }

  /** Writes config.json and model.safetensors as transformers' save_pretrained (quantised layers in bitsandbytes' layout). */
  savePretrained(dir: string): Promise<void> {
    return savePretrained(this, dir);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const { lastHiddenState } = this.roberta.forward(inputs);
    const logits = this.classifier.forward(this.dropout.forward(lastHiddenState));
    const loss = inputs.labels ? tokenClassificationLoss(logits, inputs.labels) : undefined;
    return { logits, loss, lastHiddenState, pastKeyValues: inputs.pastKeyValues };
  }
}

function classifierDropout(config: BertConfig): number {
  return config.classifier_dropout ?? config.hidden_dropout_prob;
}

function checkIds(name: string, ids: Tensor, batch: number, seq: number): void {
  if (ids.ndim !== 2 || ids.shape[0] !== batch || ids.shape[1] !== seq) {
    throw new ShapeError(`${name} must be [batch, seq] = [${batch}, ${seq}] like the input ids, not ${formatShape(ids.shape)}`);
  }
}

function checkLength(needed: number, available: number): void {
  if (needed > available) {
    throw new ValueError(`the input needs ${needed} position embeddings but the model has max_position_embeddings = ${available}; shorten it`);
  }
}

/**
 * Checkpoint keys to our names: very old BERT checkpoints call LayerNorm's parameters gamma and
 * beta (transformers renames them on load too).
 */
function renameBertKey(key: string): string {
  return key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

// Checkpoint keys that transformers skips when loading these classes: an old buffer, and the
// heads (and pooler) of the family's other classes. Fresh-able: the class's own head, and a pooler
// the checkpoint's class may not have had (BertForMaskedLM and the RoBERTa classifiers have none).
const POSITION_IDS = String.raw`(^|\.)embeddings\.position_ids$`;
const POOLER = String.raw`(^|\.)pooler\.`;
const ROBERTA_SEQUENCE_HEAD = String.raw`^classifier\.(dense|out_proj)\.`;
const ROBERTA_TOKEN_HEAD = String.raw`^classifier\.(weight|bias)$`;

/** How one BERT-family class loads: its task, base attribute, skipped checkpoint keys and fresh-able parameters. */
interface BertArchitecture {
  task: ModelTask;
  basePrefix: 'bert' | 'roberta';
  build(config: BertConfig, dtype: DType): ReturnType<ArchitectureEntry['build']>;
  ignored: string[];
  fresh: RegExp;
}

const BERT_ARCHITECTURES: Record<string, BertArchitecture> = {
  BertModel: {
    task: 'base', basePrefix: 'bert', ignored: ['^cls\\.', '^classifier\\.'], fresh: /^pooler\./,
    build: (config, dtype) => new BertModel(config, {}, dtype),
  },
  RobertaModel: {
    task: 'base', basePrefix: 'roberta', ignored: ['^lm_head\\.', '^classifier\\.'], fresh: /^pooler\./,
    build: (config, dtype) => new RobertaModel(config, {}, dtype),
  },
  BertForSequenceClassification: {
    task: 'sequence-classification', basePrefix: 'bert', ignored: ['^cls\\.'], fresh: /^(bert\.pooler|classifier)\./,
    build: (config, dtype) => new BertForSequenceClassification(config, dtype),
  },
  BertForTokenClassification: {
    task: 'token-classification', basePrefix: 'bert', ignored: ['^cls\\.', POOLER], fresh: /^classifier\./,
    build: (config, dtype) => new BertForTokenClassification(config, dtype),
  },
  RobertaForSequenceClassification: {
    task: 'sequence-classification', basePrefix: 'roberta', ignored: ['^lm_head\\.', POOLER, ROBERTA_TOKEN_HEAD], fresh: /^classifier\./,
    build: (config, dtype) => new RobertaForSequenceClassification(config, dtype),
  },
  RobertaForTokenClassification: {
    task: 'token-classification', basePrefix: 'roberta', ignored: ['^lm_head\\.', POOLER, ROBERTA_SEQUENCE_HEAD], fresh: /^classifier\./,
    build: (config, dtype) => new RobertaForTokenClassification(config, dtype),
  },
};

for (const [name, { build, ignored, fresh, ...rest }] of Object.entries(BERT_ARCHITECTURES)) {
  registerArchitecture(name, {
    ...rest,
    build: (config, dtype) => build(config as BertConfig, dtype),
    renameKey: renameBertKey,
    ignoredKeys: new RegExp([POSITION_IDS, ...ignored].join('|')),
    freshParameters: { paths: fresh, std: (config) => (config as BertConfig).initializer_range },
  });
}
