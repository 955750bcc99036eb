// Pieces every transformer here shares: embedding the inputs, head splitting, padding masks.
import { Tensor, ValueError, ShapeError, formatShape, releaseUnread } from '../tensor/index.js';
import type { Embedding, Module } from '../nn/index.js';
import type { ModelInputs } from './outputs.js';

/** inputsEmbeds if given, else the embedding of inputIds (exactly one of them must be set). */
export function embedInputs(inputs: ModelInputs, table: Embedding): Tensor {
  if (inputs.inputsEmbeds && inputs.inputIds) {
    throw new ValueError('pass either inputIds or inputsEmbeds, not both');
  }
  if (inputs.inputsEmbeds) return inputs.inputsEmbeds;
  if (!inputs.inputIds) throw new ValueError('forward needs inputIds (or inputsEmbeds)');
  if (inputs.inputIds.ndim !== 2) {
    throw new ShapeError(`inputIds must be [batch, seq], not ${formatShape(inputs.inputIds.shape)}`);
  }
  return table.forward(inputs.inputIds);
}

/**
 * A pre-norm block's residual step, h + sublayer(norm(h)), with the normed input and the sublayer's
 * output freed once added unless a backward reads them (releaseUnread).
 */
export function residual(h: Tensor, norm: Module & { forward(x: Tensor): Tensor }, sublayer: (x: Tensor) => Tensor): Tensor {
  const normed = norm.forward(h);
  const update = sublayer(normed);
  const out = h.add(update);
  releaseUnread([normed, update], [out, h]);
  return out;
}

/** [batch, seq, heads·dim] → [batch, heads, seq, dim]. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, width] = x.shape as [number, number, number];
  return x.reshape([b, t, heads, width / heads]).transpose(1, 2);
}

/** [batch, heads, seq, dim] → [batch, seq, heads·dim]. */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, d] = x.shape as [number, number, number, number];
  return x.transpose(1, 2).reshape([b, t, h * d]);
}

/** The attention mask as a [batch, keys] keep-mask (bool), or null when every key is real. */
export function keyPaddingMask(attentionMask: Tensor | undefined, batch: number, keys: number): Tensor | null {
  if (!attentionMask) return null;
  if (attentionMask.ndim !== 2 || attentionMask.shape[0] !== batch || attentionMask.shape[1] !== keys) {
    throw new ShapeError(
      `attentionMask must be [batch, past + seq] = [${batch}, ${keys}], not ${formatShape(attentionMask.shape)}`,
    );
  }
  return attentionMask.dtype === 'bool' ? attentionMask : attentionMask.ne(0);
}
