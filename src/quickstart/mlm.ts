// BERT for masked-LM pretraining, under HF's BertForMaskedLM names (bert.*, cls.predictions.*):
// the encoder without pooler, then HF's BertLMPredictionHead (dense, gelu, LayerNorm, and a
// decoder tied to the word embeddings plus its own bias). The head runs on the masked positions
// only (15% of the tokens): the vocabulary projection is the costliest matmul of the model, and
// the other positions take no loss. Masking follows HF's DataCollatorForLanguageModeling.
import type { BertConfig } from '../io/index.js';
import { BertModel, type ModelOutput } from '../models/index.js';
import { buildWithHfInit } from '../models/init-weights.js';
import { LayerNorm, Linear, Module, Parameter, getActivation, init, type Activation } from '../nn/index.js';
import { crossEntropy, linear, tensor, type Tensor } from '../tensor/index.js';
import type { Batch } from '../train/index.js';

export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  private readonly act: Activation;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hidden_size, config.hidden_size);
    this.LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
    this.act = getActivation(config.hidden_act);
  }

  forward(h: Tensor): Tensor {
    return this.LayerNorm.forward(this.act(this.dense.forward(h)));
  }
}

/** HF's cls.predictions: the transform, then logits = h · word_embeddingsᵀ + bias. */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  bias: Parameter;

  constructor(config: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.bias = new Parameter(init.zeros([config.vocab_size]));
  }

  forward(h: Tensor, wordEmbeddings: Tensor): Tensor {
    return linear(this.transform.forward(h), wordEmbeddings, this.bias);
  }
}

export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;

  constructor(config: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(config);
  }
}

/** A batch for the masked LM: `labels` are the original ids at `maskedPositions` (flat indices into [batch · seq]). */
export type MaskedBatch = Batch & { maskedPositions: Tensor; labels: Tensor };

export class BertForMaskedLM extends Module {
  bert!: BertModel;
  cls!: BertOnlyMLMHead;

  constructor(readonly config: BertConfig) {
    super();
    // BertPreTrainedModel._init_weights, plus its rule for the prediction head's own bias (zero).
    buildWithHfInit(this, () => {
      this.bert = new BertModel(config, { addPoolingLayer: false });
      this.cls = new BertOnlyMLMHead(config);
    }, config.initializer_range, (_path, name, owner) => (owner instanceof BertLMPredictionHead && name === 'bias' ? { fill: 0 } : undefined));
  }

  /** Logits [masked, vocab] at the masked positions, and their mean cross-entropy with the labels. */
  forward(batch: MaskedBatch): ModelOutput {
    const { lastHiddenState } = this.bert.forward(batch);
    const [b, t, h] = lastHiddenState.shape as [number, number, number];
    const masked = lastHiddenState.reshape([b * t, h]).indexSelect(0, batch.maskedPositions);
    const logits = this.cls.predictions.forward(masked, this.bert.embeddings.word_embeddings.weight);
    return { logits, loss: crossEntropy(logits, batch.labels) };
  }
}

/** A small seeded generator (mulberry32) for the masking decisions: plain numbers, no tensors. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MaskingOptions {
  padTokenId: number;
  maskTokenId: number;
  vocabSize: number;
  /** Ids never masked ([CLS], [SEP], [PAD], ...). */
  specialIds: ReadonlySet<number>;
  /** Share of the other tokens that take the loss (BERT: 0.15). */
  probability: number;
}

/**
 * Pads `rows` to their longest and masks them as BERT does: each non-special token is chosen with
 * `probability`; a chosen token becomes [MASK] 80% of the time, a random token 10%, stays 10%. A
 * row with no token chosen gets its first maskable one, so every row takes some loss.
 */
export function maskBatch(rows: readonly (readonly number[])[], options: MaskingOptions, random: () => number): MaskedBatch {
  const length = Math.max(...rows.map((r) => r.length));
  const ids: number[] = [];
  const mask: number[] = [];
  const positions: number[] = [];
  const labels: number[] = [];
  rows.forEach((row, r) => {
    const chosen = row.map((id) => !options.specialIds.has(id) && random() < options.probability);
    if (!chosen.includes(true)) {
      const first = row.findIndex((id) => !options.specialIds.has(id));
      if (first >= 0) chosen[first] = true;
    }
    for (let i = 0; i < length; i++) {
      const id = row[i];
      mask.push(id === undefined ? 0 : 1);
      if (id === undefined) {
        ids.push(options.padTokenId);
        continue;
      }
      if (!chosen[i]) {
        ids.push(id);
        continue;
      }
      positions.push(r * length + i);
      labels.push(id);
      const roll = random();
      ids.push(roll < 0.8 ? options.maskTokenId : roll < 0.9 ? Math.floor(random() * options.vocabSize) : id);
    }
  });
  return {
    inputIds: tensor(ids, [rows.length, length], 'int64'),
    attentionMask: tensor(mask, [rows.length, length], 'int64'),
    maskedPositions: tensor(positions, [positions.length], 'int64'),
    labels: tensor(labels, [labels.length], 'int64'),
  };
}
