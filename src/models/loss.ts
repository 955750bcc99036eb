// The losses HF models compute when given labels.
import { Tensor, crossEntropy } from '../tensor/index.js';

/** Next-token loss: logits at t predict labels at t+1; -100 labels are ignored; mean over the rest. */
export function causalLMLoss(logits: Tensor, labels: Tensor): Tensor {
  const [b, t, v] = logits.shape as [number, number, number];
  const shifted = logits.narrow(1, 0, t - 1).reshape([b * (t - 1), v]);
  const targets = labels.narrow(1, 1, t - 1).reshape([b * (t - 1)]);
  return crossEntropy(shifted.to('float32'), targets, { ignoreIndex: -100 });
}
