// How big the quickstart's run is: the encoder it builds (once) and the fine-tuning it does.
import type { EncoderBuild } from './encoder-cache.js';

export interface QuickstartSettings {
  encoder: EncoderBuild;
  /** Mails to fine-tune on and to test on, taken after the encoder's pretraining mails. */
  train: number;
  test: number;
  /** Tokens per mail when fine-tuning; the encoder's windows are `virtualTokens` longer. */
  seqLength: number;
  /** Virtual tokens of the prompt methods. */
  virtualTokens: number;
  batchSize: number;
  epochs: number;
  /** Optimizer steps instead of epochs (--quick). */
  maxSteps?: number;
}

/**
 * The quickstart's run, and bench/methods' (which runs every method on it): a BERT of 4 layers ×
 * 256 pretrained on 2000 mails for 4 epochs (500 steps of 16), then 800 mails to fine-tune on for
 * 3 epochs of batches of 8 (300 steps), 400 held out; 64 tokens per mail (subject and first
 * lines), which buys the steps. The vocabulary is small (1000: characters and the ~700 most
 * frequent words) on purpose: with 8000 whole words, 250 masked-LM steps never left the unigram
 * plateau (masked-token accuracy 4%, every position's state alike) and most frozen-encoder
 * methods stayed in the majority class; spelling rarer words out gives the model local context
 * to learn from at once (accuracy 15% after 500 steps).
 */
export const QUICKSTART: QuickstartSettings = {
  encoder: {
    mails: 2000,
    seed: 0,
    pretrain: { shape: { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocabSize: 1000, maxLength: 64 + 16 }, batchSize: 16, epochs: 4, lr: 1e-3 },
  },
  train: 800,
  test: 400,
  seqLength: 64,
  virtualTokens: 16,
  batchSize: 8,
  epochs: 3,
};

/** --quick: a 1-layer encoder and one optimizer step per stage, on a few mails. Checks that it all runs; learns nothing. */
export const QUICKSTART_TINY: QuickstartSettings = {
  encoder: {
    mails: 48,
    seed: 0,
    pretrain: { shape: { layers: 1, hidden: 32, heads: 2, intermediate: 64, vocabSize: 600, maxLength: 32 + 4 }, batchSize: 8, epochs: 1, maxSteps: 1, lr: 1e-3 },
  },
  train: 16,
  test: 16,
  seqLength: 32,
  virtualTokens: 4,
  batchSize: 8,
  epochs: 1,
  maxSteps: 1,
};
