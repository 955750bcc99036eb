// The losses HF models compute when given labels.
import { Tensor, concat, crossEntropy, full } from '../tensor/index.js';
import type { ModelInputs } from './outputs.js';

/**
 * Next-token loss: logits at t predict labels at t+1; -100 labels are ignored; mean over the rest.
 * The labels are shifted left and padded with -100 (as transformers does) rather than the logits
 * cut to t − 1 positions: a cut [batch, seq, vocab] is not contiguous, and copying it (and its
 * gradient) costs two vocabulary-sized buffers per step.
 */
export function causalLMLoss(logits: Tensor, labels: Tensor): Tensor {
  const [b, t, v] = logits.shape as [number, number, number];
  const targets = concat([labels.narrow(1, 1, t - 1), full([b, 1], -100, labels.dtype)], 1).reshape([b * t]);
  return crossEntropy(logits.reshape([b * t, v]).to('float32'), targets, { ignoreIndex: -100 });
}

/**
 * The hidden states the LM head needs: the last `logitsToKeep` positions when asked and no labels
 * are given (the loss needs every position), else all of them.
 */
export function lastPositions(hidden: Tensor, { logitsToKeep, labels }: ModelInputs): Tensor {
  const seq = hidden.shape[1]!;
  if (labels !== undefined || logitsToKeep === undefined || logitsToKeep <= 0 || logitsToKeep >= seq) return hidden;
  return hidden.narrow(1, seq - logitsToKeep, logitsToKeep);
}
