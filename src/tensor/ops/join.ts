// Joining and cutting along a dim: concat (cat), stack, split, chunk, and constant padding.
// Pieces are views (narrow); joins copy once into a new tensor, and their backward narrows.
import { promoteTypes } from '../dtype.js';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { noGrad } from '../grad-mode.js';
import { normalizeDim, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cloneTensor, copyInto, full } from './create-ops.js';
import { narrow, unsqueeze } from './views.js';
import { method } from './method.js';

/** Joins tensors along an existing dim; all other sizes must match. Dtypes promote as in add. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new ValueError('concat: needs at least one tensor');
  if (first.ndim === 0) throw new ShapeError('concat: cannot join 0-d tensors along a dim; use stack(), or unsqueeze them first');
  const d = normalizeDim(dim, first.ndim);
  tensors.forEach((t, i) => {
    const fits = t.ndim === first.ndim && t.shape.every((size, k) => k === d || size === first.shape[k]);
    if (!fits) {
      throw new ShapeError(`concat along dim ${dim}: tensor ${i} has shape ${formatShape(t.shape)} but tensor 0 has ${formatShape(first.shape)}; all sizes except dim ${dim} must match`);
    }
  });
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const shape = [...first.shape];
  shape[d] = tensors.reduce((n, t) => n + t.shape[d]!, 0);
  const out = Tensor.empty(shape, dtype);
  const starts: number[] = [];
  let start = 0;
  for (const t of tensors) {
    starts.push(start);
    if (t.size > 0) noGrad(() => copyInto(narrow(out, d, start, t.shape[d]!), t).dispose());
    start += t.shape[d]!;
  }
  return record(out, 'concat', [...tensors], (g) => tensors.map((t, i) => {
    if (!t.requiresGrad) return null;
    const piece = narrow(g, d, starts[i]!, t.shape[d]!);
    if (piece.dtype === t.dtype) return piece;
    const converted = cloneTensor(piece, t.dtype);
    piece.dispose();
    return converted;
  }), [], []);
}

/** torch.cat: the same as concat. */
export const cat = concat;

/** Joins tensors of one shape along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new ValueError('stack: needs at least one tensor');
  const d = normalizeDim(dim, first.ndim + 1);
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, first.shape)) {
      throw new ShapeError(`stack: tensor ${i} has shape ${formatShape(t.shape)} but tensor 0 has ${formatShape(first.shape)}; stacked tensors must have one shape`);
    }
  });
  const expanded = tensors.map((t) => unsqueeze(t, d));
  return concat(expanded, d);
}

/**
 * Cuts x along dim into views: pieces of `size` (the last may be smaller), or of the given
 * sizes, which must add up to the dim's size (torch.split).
 */
export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim(dim, x.ndim);
  const total = x.shape[d]!;
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    const size = sizeOrSizes;
    if (!Number.isInteger(size) || size < 0 || (size === 0 && total > 0)) {
      throw new ValueError(`split: the piece size must be a positive integer, not ${size}`);
    }
    sizes = size === 0 ? [0] : Array.from({ length: Math.ceil(total / size) }, (_, i) => Math.min(size, total - i * size));
  } else {
    sizes = [...sizeOrSizes];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== total) {
      throw new ShapeError(`split: sizes ${formatShape(sizes)} must be non-negative integers adding up to ${total}, the size of dim ${dim} of ${formatShape(x.shape)}`);
    }
  }
  let start = 0;
  return sizes.map((size) => {
    const piece = narrow(x, d, start, size);
    start += size;
    return piece;
  });
}

/** Cuts x along dim into `chunks` views of ceil(size / chunks) (fewer if the size runs out), as torch.chunk. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks < 1) throw new ValueError(`chunk: chunks must be a positive integer, not ${chunks}`);
  const d = normalizeDim(dim, x.ndim);
  const total = x.shape[d]!;
  if (total === 0) return split(x, new Array<number>(chunks).fill(0), d);
  return split(x, Math.ceil(total / chunks), d);
}

/**
 * Constant padding in torch.nn.functional.pad order: [left, right] of the last dim, then
 * [top, bottom] of the one before, ... Negative amounts crop.
 */
export function pad(x: Tensor, padding: readonly number[], value = 0): Tensor {
  if (padding.length % 2 !== 0 || padding.length > 2 * x.ndim || padding.some((p) => !Number.isInteger(p))) {
    throw new ValueError(`pad: padding ${formatShape(padding)} must be integer pairs for at most the ${x.ndim} dims of ${formatShape(x.shape)} (last dim first)`);
  }
  const shape = [...x.shape];
  const before = new Array<number>(x.ndim).fill(0);
  const after = new Array<number>(x.ndim).fill(0);
  for (let i = 0; i < padding.length / 2; i++) {
    const k = x.ndim - 1 - i;
    before[k] = padding[2 * i]!;
    after[k] = padding[2 * i + 1]!;
    shape[k] = x.shape[k]! + before[k]! + after[k]!;
    if (shape[k]! < 0) {
      throw new ShapeError(`pad: padding ${formatShape(padding)} makes dim ${k} of ${formatShape(x.shape)} negative (${shape[k]})`);
    }
  }
  const out = full(shape, value, x.dtype);
  // Copy the part of x that survives cropping into its place in out.
  // The views are disposed after: they would hold x's and out's memory until the step's scope
  // ends (in backward, x is a gradient freed as soon as it is consumed).
  const views: Tensor[] = [];
  noGrad(() => {
    let src = x;
    let dst = out;
    for (let k = 0; k < x.ndim; k++) {
      const length = x.shape[k]! - Math.max(0, -before[k]!) - Math.max(0, -after[k]!);
      if (length <= 0) return;
      src = narrow(src, k, Math.max(0, -before[k]!), length);
      dst = narrow(dst, k, Math.max(0, before[k]!), length);
      views.push(src, dst);
    }
    copyInto(dst, src);
  });
  for (const view of views) view.dispose();
  return record(out, 'pad', [x], (g) => [pad(g, padding.map((p) => -p))], [], []);
}

declare module '../tensor.js' {
  interface Tensor {
    split(sizeOrSizes: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
  }
}

Object.assign(Tensor.prototype, { split: method(split), chunk: method(chunk) });
