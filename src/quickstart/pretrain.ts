// A small BERT pretrained from scratch with the masked-LM objective on mails, saved as an HF
// checkpoint folder (config.json, model.safetensors, tokenizer.json) that
// AutoModelForSequenceClassification loads: the quickstart's encoder and bench/methods' stage 1.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBertConfig, saveSafetensors, type PreTrainedTokenizer } from '../io/index.js';
import { manualSeed } from '../tensor/index.js';
import { Trainer, type Batch, type IndexedBatches, type TrainerCallback } from '../train/index.js';
import { BertForMaskedLM, maskBatch, mulberry32, type MaskingOptions } from './mlm.js';
import { buildVocabulary, saveTokenizer } from './tokenizer.js';

export interface EncoderShape {
  layers: number;
  hidden: number;
  heads: number;
  /** Feed-forward width (BERT: 4 × hidden). */
  intermediate: number;
  vocabSize: number;
  /** Tokens per pretraining window, and the model's max_position_embeddings. */
  maxLength: number;
}

export interface PretrainSettings {
  shape: EncoderShape;
  batchSize: number;
  epochs: number;
  /** Optimizer steps instead of epochs (the quick mode's single steps). */
  maxSteps?: number;
  lr: number;
  seed: number;
  /** Progress: the pretraining Trainer's callbacks (a log record every 10 steps). */
  callbacks?: TrainerCallback[];
}

export interface PretrainResult {
  tokenizer: PreTrainedTokenizer;
  parameters: number;
  steps: number;
  seconds: number;
  trainLoss: number;
  /** Masked-token loss and accuracy on held-out mails. */
  evalLoss: number;
  evalAccuracy: number;
}

/** config.json of BERT with `shape` for `tokenizer`'s vocabulary (HF's BertConfig fields; BERT-base's dropout and init range). */
export function encoderConfig(shape: EncoderShape, tokenizer: PreTrainedTokenizer): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM'], model_type: 'bert', vocab_size: tokenizer.vocabSize, hidden_size: shape.hidden,
    num_hidden_layers: shape.layers, num_attention_heads: shape.heads, intermediate_size: shape.intermediate, hidden_act: 'gelu',
    hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: shape.maxLength, type_vocab_size: 2,
    initializer_range: 0.02, layer_norm_eps: 1e-12, pad_token_id: tokenizer.padTokenId, tie_word_embeddings: true,
  };
}

/** Batches of `rows` masked afresh each time they are drawn (RoBERTa's dynamic masking), from one seeded stream. */
function maskedBatches(rows: readonly number[][], batchSize: number, options: MaskingOptions, seed: number): IndexedBatches<Batch> {
  const random = mulberry32(seed);
  return {
    length: Math.ceil(rows.length / batchSize),
    get: (index: number): Batch => maskBatch(rows.slice(index * batchSize, (index + 1) * batchSize), options, random),
  };
}

/**
 * Builds the tokenizer from `texts`, pretrains on them, checks the masked-token accuracy on
 * `heldOut`, and writes the checkpoint folder `dir` (which must exist).
 */
export async function pretrainEncoder(dir: string, texts: readonly string[], heldOut: readonly string[], settings: PretrainSettings): Promise<PretrainResult> {
  const { shape } = settings;
  const tokenizer = await saveTokenizer(dir, buildVocabulary(texts, shape.vocabSize), shape.maxLength);
  const encode = (t: string) => tokenizer.encode(t, { truncation: true, maxLength: shape.maxLength });
  const rawConfig = encoderConfig(shape, tokenizer);
  manualSeed(settings.seed);
  const model = new BertForMaskedLM(parseBertConfig(rawConfig));
  const masking: MaskingOptions = {
    padTokenId: tokenizer.padTokenId!, maskTokenId: tokenizer.maskTokenId!, vocabSize: tokenizer.vocabSize,
    specialIds: new Set([tokenizer.padTokenId!, tokenizer.clsTokenId!, tokenizer.sepTokenId!, tokenizer.unkTokenId!]), probability: 0.15,
  };
  const trainer = new Trainer({
    model,
    trainDataset: maskedBatches(texts.map(encode), settings.batchSize, masking, settings.seed),
    args: {
      epochs: settings.epochs, maxSteps: settings.maxSteps, lr: settings.lr, weightDecay: 0.01, warmupRatio: 0.06, seed: settings.seed, loggingSteps: 10,
    },
    callbacks: settings.callbacks,
  });
  const start = performance.now();
  const { globalStep, trainLoss } = await trainer.train();
  const seconds = (performance.now() - start) / 1000;
  const evaluation = await trainer.evaluate(maskedBatches(heldOut.map(encode), settings.batchSize, masking, settings.seed + 1));
  await saveSafetensors(join(dir, 'model.safetensors'), model.stateDict());
  await writeFile(join(dir, 'config.json'), JSON.stringify(rawConfig, null, 2));
  return {
    tokenizer, parameters: model.numParameters(), steps: globalStep, seconds, trainLoss,
    evalLoss: evaluation.evalLoss!, evalAccuracy: evaluation.evalAccuracy!,
  };
}
