// A tokenised example, before batching.

export interface Example {
  inputIds: number[];
  /**
   * Causal LMs: one per input id (-100 where no loss is taken; the model shifts them).
   * Seq2seq: the target's ids. Classification: the class id.
   */
  labels: number[] | number;
  /** BERT segment ids, when the tokenizer gives them. */
  tokenTypeIds?: number[];
}

/** Label value for positions that take no loss (HF's ignore_index). */
export const IGNORE_INDEX = -100;
