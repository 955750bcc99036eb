// Pieces every transformer here shares: embedding the inputs, head splitting, padding masks.
import { Tensor, ValueError, ShapeError, arange, concat, formatShape, releaseUnread } from '../tensor/index.js';
import type { Embedding, Module } from '../nn/index.js';
import type { ModelInputs, SequenceRun } from './outputs.js';

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

/** Positions [tokens, 1] of packed runs (ModelInputs.packedSequences): 0, 1, ... within each sequence. */
export function packedPositions(runs: readonly SequenceRun[]): Tensor {
  const positions = runs.flatMap(({ rows, length }) => Array.from({ length: rows }, () => arange(0, length, 1, 'int64')));
  return concat(positions, 0).unsqueeze(1);
}

/**
 * Attention over packed runs: each run's tokens of every tensor in `xs` (projections, rotary
 * tables: [tokens, 1, ...]) viewed as [rows, length, ...] and attended by `attend` with the run's
 * key mask, the runs' outputs [rows, length, out] joined back into [tokens, 1, out]. A run's
 * attention is the one its sequences get in a batch of their own: nothing is computed for padding.
 */
export function attendPacked(xs: readonly Tensor[], runs: readonly SequenceRun[], attend: (parts: Tensor[], keyMask: Tensor | null) => Tensor): Tensor {
  const tokens = runs.reduce((n, { rows, length }) => n + rows * length, 0);
  for (const x of xs) {
    if (x.ndim < 3 || x.shape[0] !== tokens || x.shape[1] !== 1) {
      throw new ShapeError(`packed sequences: the batch must be [${tokens}, 1, ...] (the runs' tokens), not ${formatShape(x.shape)}`);
    }
  }
  let start = 0;
  const outs = runs.map(({ rows, length, mask }) => {
    const parts = xs.map((x) => x.narrow(0, start, rows * length).reshape([rows, length, ...x.shape.slice(2)]));
    start += rows * length;
    const out = attend(parts, keyPaddingMask(mask, rows, length));
    return out.reshape([rows * length, 1, out.shape[2]!]);
  });
  return outs.length === 1 ? outs[0]! : concat(outs, 0);
}
