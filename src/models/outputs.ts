// What models return, and the inputs they take (camelCase versions of HF's forward arguments).
import type { Tensor } from '../tensor/index.js';
import type { KVCache } from './cache.js';

export interface ModelInputs {
  /** Token ids [batch, seq], int32 or int64. */
  inputIds?: Tensor;
  /** 1 for real tokens, 0 for padding, [batch, seq] (for decoders: past + current positions). */
  attentionMask?: Tensor;
  /** Embeddings instead of ids [batch, seq, hidden] (prompt tuning prepends to these). */
  inputsEmbeds?: Tensor;
  /** Positions [batch, seq] (default: past length + 0, 1, ...). */
  positionIds?: Tensor;
  /** Causal LMs without labels: compute logits for the last N positions only (generation needs 1), as HF's logits_to_keep. */
  logitsToKeep?: number;
  /** Targets: [batch, seq] token ids (-100 ignored) for LMs, [batch] for sequence classification. */
  labels?: Tensor;
  /** Cache to read past keys/values from and append this step's to. */
  pastKeyValues?: KVCache;
  /** BERT segment ids [batch, seq]. */
  tokenTypeIds?: Tensor;
  /** Images [batch, channels, height, width] for vision models (ViT). */
  pixelValues?: Tensor;
  /** Encoder-decoder models: decoder input ids [batch, target] (default: labels shifted right). */
  decoderInputIds?: Tensor;
  /** Encoder-decoder models: 1 for real decoder tokens, 0 for padding, [batch, past + target]. */
  decoderAttentionMask?: Tensor;
  /**
   * Sequences of different lengths packed without padding (models with `acceptsPackedSequences`):
   * the batch is [tokens, 1] (ids, positions) or [tokens, 1, hidden] (embeddings), holding these
   * runs one after another; each run is `rows` sequences of `length` tokens, which attend only
   * within themselves (its `mask` [rows, length]: 1 for real tokens). As flash-attention's variable
   * lengths: no position is computed for padding.
   */
  packedSequences?: readonly SequenceRun[];
}

/** Equal-length sequences side by side in a packed batch (ModelInputs.packedSequences). */
export interface SequenceRun {
  rows: number;
  length: number;
  mask?: Tensor;
}

/** What a task model (a head over a base model) returns. */
export interface ModelOutput {
  /** [batch, seq, vocab] for LMs, [batch, labels] for sequence classification. */
  logits: Tensor;
  /** Present when labels were given. */
  loss?: Tensor;
  /** The cache passed in, updated with this step. */
  pastKeyValues?: KVCache;
  /** Final hidden states [batch, seq, hidden]. */
  lastHiddenState?: Tensor;
}

/** What a base model (HF's AutoModel: BertModel, ViTModel, ...) returns: hidden states, no head. */
export interface BaseModelOutput {
  /** Final hidden states [batch, seq, hidden] (ViT: [batch, 1 + patches, hidden]). */
  lastHiddenState: Tensor;
  /** The pooler's reading of the first token [batch, hidden] (ViT: pooler_output_size); null without a pooler. */
  poolerOutput: Tensor | null;
  /** The cache passed in, updated with this step. */
  pastKeyValues?: KVCache;
}
