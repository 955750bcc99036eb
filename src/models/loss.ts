// The losses HF models compute when given labels.
import { Tensor, crossEntropy } from '../tensor/index.js';
import type { ModelInputs } from './outputs.js';

/** Next-token loss: logits at t predict labels at t+1; -100 labels are ignored; mean over the rest. */
export function causalLMLoss(logits: Tensor, labels: Tensor): Tensor {
  const [b, t, v] = logits.shape as [number, number, number];
  const shifted = logits.narrow(1, 0, t - 1).reshape([b * (t - 1), v]);
  const targets = labels.narrow(1, 1, t - 1).reshape([b * (t - 1)]);
  return crossEntropy(shifted.to('float32'), targets, { ignoreIndex: -100 });
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
