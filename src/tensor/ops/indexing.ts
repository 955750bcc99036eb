// Reading and writing by index: indexSelect / indexAdd (whole slices), embedding (rows of a
// table), gather / scatter / scatterAdd (single elements), and the triangle masks tril / triu.
// Index tensors are int32 or int64; an index outside its dim throws an IndexError naming it.
import { DTYPES, type DType } from '../dtype.js';
import { AutogradError, DTypeError, IndexError, ShapeError, ValueError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { isGradEnabled, noGrad } from '../grad-mode.js';
import { normalizeDim, numel, sameShape, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import type { IndexArray } from '../native/index-kernels.js';
import { arange, cloneTensor, copyInto, full, zeros } from './create-ops.js';
import { ge, le, sub, where } from './arith.js';
import { narrow } from './views.js';
import { method } from './method.js';

/** The index as a contiguous int32/int64 tensor (itself when it already is one). */
function indexOperand(op: string, index: Tensor): Tensor {
  if (index.dtype !== 'int32' && index.dtype !== 'int64') {
    throw new DTypeError(`${op}: indices must be int32 or int64, not ${index.dtype}; convert them with .to('int64')`);
  }
  return index.isContiguous() ? index : cloneTensor(index);
}

/**
 * After an indexed kernel: releases the index copy `idx` of `index`; if the kernel reported a bad
 * index at position `bad`, disposes the kernel's fresh output and throws an IndexError naming it.
 */
function finishIndexed(op: string, bad: number, idx: Tensor, index: Tensor, output: Tensor, size: number, what: string, noun = 'index'): void {
  const value = bad >= 0 ? Number(idx.buffer[idx.offset + bad]!) : 0;
  release(idx, index);
  if (bad < 0) return;
  output.dispose();
  const at = index.ndim > 1 ? ` at flat position ${bad}` : index.ndim === 1 ? ` at position ${bad}` : '';
  throw new IndexError(`${op}: ${noun} ${value}${at} is out of range for ${what}; it must be in [0, ${size})`);
}

/** The dtype scatter-add / index-add accumulate in for values of dtype `d`. */
function accumulateType(d: DType): DType {
  if (d === 'bfloat16' || d === 'float16') return 'float32';
  if (d === 'uint8' || d === 'bool') return 'int32';
  return d;
}

function release(temp: Tensor, original: Tensor): void {
  if (temp !== original) temp.dispose();
}

/** Sizes of [outer, n, inner] around dim d. */
function around(shape: Shape, d: number): [number, number, number] {
  return [numel(shape.slice(0, d)), shape[d]!, numel(shape.slice(d + 1))];
}

/** x's slices at `index` along d (no autograd). */
function selectSlices(op: string, x: Tensor, d: number, index: Tensor, shape: Shape, what: string, noun?: string): Tensor {
  const idx = indexOperand(op, index);
  const xc = x.isContiguous() ? x : cloneTensor(x);
  const [outer, n, inner] = around(x.shape, d);
  const out = Tensor.empty(shape, x.dtype);
  const bad = native.indexSelect(xc.buffer, xc.offset, outer, n, inner, idx.buffer as IndexArray, idx.offset, idx.size, out.buffer);
  release(xc, x);
  finishIndexed(op, bad, idx, index, out, n, what, noun);
  return out;
}

/** dst (fresh, contiguous, an accumulate type) += src's slices at `index` along d, in place (disposed on a bad index). */
function addSlicesInto(op: string, dst: Tensor, d: number, index: Tensor, src: Tensor): void {
  const idx = indexOperand(op, index);
  const sc = src.isContiguous() && src.dtype === dst.dtype ? src : cloneTensor(src, dst.dtype);
  const [outer, n, inner] = around(dst.shape, d);
  const bad = native.indexAdd(DTYPES[dst.dtype].code, dst.buffer, outer, n, inner, idx.buffer as IndexArray, idx.offset, idx.size, sc.buffer, sc.offset);
  release(sc, src);
  finishIndexed(op, bad, idx, index, dst, n, `dim ${d} of size ${n}`);
}

/** A zero tensor of `shape` with src's slices added at `index` along d (the backward of a slice selection). */
function slicesAddedToZeros(shape: Shape, d: number, index: Tensor, src: Tensor): Tensor {
  const out = zeros(shape, accumulateType(src.dtype));
  addSlicesInto('indexAdd', out, d, index, src);
  return convert(out, src.dtype);
}

function convert(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const out = cloneTensor(t, dtype);
  t.dispose();
  return out;
}

function checkSliceIndex(op: string, index: Tensor): void {
  if (index.ndim > 1) throw new ShapeError(`${op}: the index must be 1-D (or 0-d), got shape ${formatShape(index.shape)}`);
}

/** The slices of x at `index` (1-D) along dim: out.shape[dim] = index.size (torch.index_select). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim(dim, x.ndim);
  checkSliceIndex('indexSelect', index);
  const shape = [...x.shape];
  shape[d] = index.size;
  const out = selectSlices('indexSelect', x, d, index, shape, `dim ${dim} of size ${x.shape[d]}`);
  return record(out, 'indexSelect', [x], (g) => [slicesAddedToZeros(x.shape, d, index, g)], [index]);
}

/** The source shape indexAdd needs: x's, with index.size along d. */
function indexAddSourceShape(op: string, x: Tensor, dim: number, d: number, index: Tensor, source: Tensor): Shape {
  checkSliceIndex(op, index);
  const expected = [...x.shape];
  expected[d] = index.size;
  if (!sameShape(source.shape, expected)) {
    throw new ShapeError(`${op}: source has shape ${formatShape(source.shape)} but ${index.size} indices into dim ${dim} of ${formatShape(x.shape)} need ${formatShape(expected)}`);
  }
  return expected;
}

/** x with source's slices added at `index` along dim (out of place; repeated indices accumulate). */
export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  const d = normalizeDim(dim, x.ndim);
  const expected = indexAddSourceShape('indexAdd', x, dim, d, index, source);
  const at = accumulateType(x.dtype);
  const out = cloneTensor(x, at);
  addSlicesInto('indexAdd', out, d, index, source);
  return record(convert(out, x.dtype), 'indexAdd', [x, source], (g) => [
    g,
    source.requiresGrad ? selectSlices('indexAdd', g, d, index, expected, `dim ${dim} of size ${x.shape[d]}`) : null,
  ], [index]);
}

/**
 * x[index] += source along dim, in place, for inference (autograd does not record it): x must be
 * contiguous float32 or float64. Returns x.
 */
export function indexAdd_(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  const d = normalizeDim(dim, x.ndim);
  indexAddSourceShape('indexAdd_', x, dim, d, index, source);
  if (isGradEnabled() && (x.requiresGrad || source.requiresGrad)) {
    throw new AutogradError('indexAdd_ writes in place, which autograd cannot follow: use indexAdd, or run under noGrad()');
  }
  if (!x.isContiguous() || accumulateType(x.dtype) !== x.dtype) {
    throw new DTypeError(`indexAdd_ needs a contiguous float32 or float64 tensor, not ${x.dtype}${x.isContiguous() ? '' : ' (strided)'}: use indexAdd`);
  }
  // Checked first: a bad index must not leave x half-updated (or disposed, as out-of-place results are).
  const size = x.shape[d]!;
  const bad = index.toFlatArray().findIndex((i) => i < 0 || i >= size);
  if (bad >= 0) throw new IndexError(`indexAdd_: index ${index.toFlatArray()[bad]} at position ${bad} is out of range for dim ${dim} of size ${size}; it must be in [0, ${size})`);
  addSlicesInto('indexAdd_', x, d, index, source);
  return x;
}

/**
 * Rows of `weight` ([numEmbeddings, dim]) for every id: shape [...ids.shape, dim]. The gradient
 * adds up per row (repeated ids accumulate); the row `paddingIdx`, if given, gets none.
 */
export function embedding(weight: Tensor, ids: Tensor, paddingIdx?: number): Tensor {
  if (weight.ndim !== 2) {
    throw new ShapeError(`embedding: weight must be 2-D [numEmbeddings, embeddingDim], got shape ${formatShape(weight.shape)}`);
  }
  const [rows, width] = weight.shape as [number, number];
  let pad: number | undefined;
  if (paddingIdx !== undefined) {
    pad = paddingIdx < 0 ? paddingIdx + rows : paddingIdx;
    if (!Number.isInteger(paddingIdx) || pad < 0 || pad >= rows) {
      throw new ValueError(`embedding: paddingIdx ${paddingIdx} must be an integer in [${-rows}, ${rows})`);
    }
  }
  const out = selectSlices('embedding', weight, 0, ids, [...ids.shape, width], `an embedding table of ${rows} rows`, 'id');
  return record(out, 'embedding', [weight], (g) => {
    const grad = slicesAddedToZeros(weight.shape, 0, ids, g);
    if (pad !== undefined) narrow(grad, 0, pad, 1).fill_(0).dispose();
    return [grad];
  }, [ids]);
}

/** Checks gather/scatter shapes: same rank, index within x off `d` and within src everywhere. */
function checkElementIndex(op: string, x: Tensor, d: number, index: Tensor, src?: Tensor): void {
  if (index.ndim !== x.ndim || (src && src.ndim !== x.ndim)) {
    throw new ShapeError(`${op}: index ${formatShape(index.shape)}${src ? `, src ${formatShape(src.shape)}` : ''} and input ${formatShape(x.shape)} must have the same number of dims`);
  }
  for (let k = 0; k < x.ndim; k++) {
    if (k !== d && index.shape[k]! > x.shape[k]!) {
      throw new ShapeError(`${op}: index shape ${formatShape(index.shape)} is larger than the input ${formatShape(x.shape)} in dim ${k} (only dim ${d} may differ)`);
    }
    if (src && index.shape[k]! > src.shape[k]!) {
      throw new ShapeError(`${op}: index shape ${formatShape(index.shape)} is larger than src ${formatShape(src.shape)} in dim ${k}`);
    }
  }
}

/** dst (fresh, contiguous) gets src at index along d, assigned or added, in place (disposed on a bad index). */
function scatterInto(op: string, dst: Tensor, d: number, index: Tensor, src: Tensor, accumulate: boolean): void {
  const idx = indexOperand(op, index);
  const sc = src.dtype === dst.dtype ? src : cloneTensor(src, dst.dtype);
  const n = dst.shape[d]!;
  const bad = native.scatter(DTYPES[dst.dtype].code, accumulate, dst.buffer, dst.offset, [...dst.strides], n,
    idx.buffer as IndexArray, idx.offset, sc.buffer, sc.offset, [...sc.strides], [...index.shape], d);
  release(sc, src);
  finishIndexed(op, bad, idx, index, dst, n, `dim ${d} of size ${n}`);
}

/** Zeros of `shape` with g (index-shaped) added at index along d: the backward of gather. */
function gatherBackward(shape: Shape, d: number, index: Tensor, g: Tensor): Tensor {
  const out = zeros(shape, accumulateType(g.dtype));
  scatterInto('gather', out, d, index, g, true);
  return convert(out, g.dtype);
}

/** g (index-shaped) placed at the start of a zero tensor of `shape`, or g itself if that is its shape. */
function fitTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const out = zeros(shape, g.dtype);
  const views: Tensor[] = [];
  g.shape.forEach((size, k) => views.push(narrow(views.at(-1) ?? out, k, 0, size)));
  copyInto(views.at(-1)!, g);
  // The views would hold out's memory until the step's scope ends (see narrow's backward).
  for (const view of views) view.dispose();
  return out;
}

/** out[p] = x[p with coordinate dim replaced by index[p]]; out has index's shape (torch.gather). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim(dim, x.ndim);
  checkElementIndex('gather', x, d, index);
  const idx = indexOperand('gather', index);
  const out = Tensor.empty(index.shape, x.dtype);
  const bad = native.gather(x.buffer, x.offset, [...x.strides], x.shape[d]!, idx.buffer as IndexArray, idx.offset, [...index.shape], d, out.buffer);
  finishIndexed('gather', bad, idx, index, out, x.shape[d]!, `dim ${dim} of size ${x.shape[d]}`);
  return record(out, 'gather', [x], (g) => [gatherBackward(x.shape, d, index, g)], [index]);
}

/**
 * A copy of x with out[p with coordinate dim replaced by index[p]] = src[p] for every p in
 * index's shape (torch.scatter, out of place); src may be a number. On repeated indices the
 * last position along dim wins.
 */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  const d = normalizeDim(dim, x.ndim);
  const value = typeof src === 'number' ? full([], src, x.dtype) : null;
  const source = value ? value.expand(index.shape) : (src as Tensor);
  checkElementIndex('scatter', x, d, index, source);
  const out = cloneTensor(x);
  try {
    scatterInto('scatter', out, d, index, source, false);
  } finally {
    if (value) [source, value].forEach((t) => t.dispose());
  }
  if (typeof src === 'number') return record(out, 'scatter', [x], (g) => [scatter(g, d, index, 0)], [index]);
  return record(out, 'scatter', [x, src], (g) => [
    x.requiresGrad ? scatter(g, d, index, 0) : null,
    src.requiresGrad ? fitTo(gather(g, d, index), src.shape) : null,
  ], [index]);
}

/** A copy of x with src[p] added at out[p with coordinate dim replaced by index[p]] (torch.scatter_add). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim(dim, x.ndim);
  checkElementIndex('scatterAdd', x, d, index, src);
  const out = cloneTensor(x, accumulateType(x.dtype));
  scatterInto('scatterAdd', out, d, index, src, true);
  return record(convert(out, x.dtype), 'scatterAdd', [x, src], (g) => [
    g,
    src.requiresGrad ? fitTo(gather(g, d, index), src.shape) : null,
  ], [index]);
}

/** Keeps the elements on and below the `diagonal`-th diagonal of the last two dims, zeroes the rest. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal, true);
}

/** Keeps the elements on and above the `diagonal`-th diagonal of the last two dims, zeroes the rest. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal, false);
}

function triangle(op: string, x: Tensor, diagonal: number, lower: boolean): Tensor {
  if (x.ndim < 2) throw new ShapeError(`${op}: needs a matrix or a batch of matrices, got shape ${formatShape(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new ValueError(`${op}: diagonal must be an integer, not ${diagonal}`);
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  const mask = noGrad(() => {
    const c = arange(cols).reshape([1, cols]);
    const r = arange(rows).reshape([rows, 1]);
    const offset = sub(c, r); // column - row: 0 on the main diagonal
    const m = lower ? le(offset, diagonal) : ge(offset, diagonal);
    for (const t of [c, r, offset]) t.dispose();
    return m;
  });
  return where(mask, x, 0);
}

declare module '../tensor.js' {
  interface Tensor {
    indexSelect(dim: number, index: Tensor): Tensor;
    indexAdd(dim: number, index: Tensor, source: Tensor): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    tril(diagonal?: number): Tensor;
    triu(diagonal?: number): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  indexSelect: method(indexSelect), indexAdd: method(indexAdd), gather: method(gather), scatter: method(scatter),
  scatterAdd: method(scatterAdd), tril: method(tril), triu: method(triu),
});
