// Views share storage with their base (no copy): reshape/view, transpose, permute, narrow,
// select, expand, squeeze, unsqueeze, flatten. Also contiguous(), to(dtype), clone(), detach().
import { isFloating, type DType, checkDType } from '../dtype.js';
import { IndexError, ShapeError, ValueError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { contiguousStrides, normalizeDim, numel, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { addInPlace } from './elementwise-kernels.js';
import { cloneTensor, copyInto, zeros } from './create-ops.js';
import { sumToShape } from './reduce.js';
import { method } from './method.js';

/** A new tensor object over x's storage. */
function viewOf(x: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  const storage = x.storage;
  storage.retain();
  return new Tensor(storage, shape, strides, offset);
}

/** Resolves one -1 in a requested shape and checks the element count. */
function resolveShape(x: Tensor, shape: Shape): number[] {
  const out = [...shape];
  const infer = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) throw new ShapeError(`only one dimension can be -1 in ${formatShape(shape)}`);
  if (infer >= 0) {
    const known = out.reduce((n, d, i) => (i === infer ? n : n * d), 1);
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`cannot reshape a tensor of shape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)}`);
    }
    out[infer] = x.size / known;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== x.size) {
    throw new ShapeError(`cannot reshape a tensor of shape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)}`);
  }
  return out;
}

/** Strides for viewing x as `shape` without a copy, or null if its layout does not allow it
 * (PyTorch's computeStride: split x's dims into contiguous chunks, then re-split each chunk). */
function viewStrides(x: Tensor, shape: number[]): number[] | null {
  const oldShape = x.shape;
  const oldStrides = x.strides;
  const strides = new Array<number>(shape.length).fill(1);
  if (oldShape.length === 0) return strides;
  let viewDim = shape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1]!;
  let tensorCount = 1;
  let viewCount = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorCount *= oldShape[d]!;
    const chunkEnds = d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorCount * chunkBaseStride);
    if (!chunkEnds) continue;
    while (viewDim >= 0 && (viewCount < tensorCount || shape[viewDim] === 1)) {
      strides[viewDim] = viewCount * chunkBaseStride;
      viewCount *= shape[viewDim]!;
      viewDim--;
    }
    if (viewCount !== tensorCount) return null;
    if (d > 0) {
      chunkBaseStride = oldStrides[d - 1]!;
      tensorCount = 1;
      viewCount = 1;
    }
  }
  return viewDim === -1 ? strides : null;
}

/** Reshapes without copying; throws if x's layout does not allow it (use reshape). */
export function view(x: Tensor, shape: Shape): Tensor {
  const target = resolveShape(x, shape);
  const strides = x.size === 0 ? target.map(() => 1) : viewStrides(x, target);
  if (strides === null) {
    throw new ShapeError(
      `view: a tensor of shape ${formatShape(x.shape)} with strides ${formatShape(x.strides)} cannot be viewed as ${formatShape(target)} without a copy; use reshape()`,
    );
  }
  const out = viewOf(x, target, strides, x.offset);
  return record(out, 'view', [x], (g) => [g.reshape(x.shape)], [], []);
}

/** Reshapes, as a view when the layout allows it and as a copy otherwise. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = resolveShape(x, shape);
  if (x.size === 0 || viewStrides(x, target) !== null) return view(x, target);
  // One op for the copy: a view of a separate contiguous() tensor would keep that tensor's memory
  // until the step's scope ends, even where the view itself is freed sooner (a backward's gradients).
  const copy = cloneTensor(x);
  const out = viewOf(copy, target, contiguousStrides(target), 0);
  copy.dispose();
  return record(out, 'reshape', [x], (g) => [g.reshape(x.shape)], [], []);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim, 'startDim');
  const e = normalizeDim(endDim, x.ndim, 'endDim');
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const order = dims.map((d) => normalizeDim(d, x.ndim));
  if (order.length !== x.ndim || new Set(order).size !== x.ndim) {
    throw new ShapeError(`permute: ${formatShape(dims)} is not a permutation of the ${x.ndim} dims of a tensor of shape ${formatShape(x.shape)}`);
  }
  const out = viewOf(x, order.map((d) => x.shape[d]!), order.map((d) => x.strides[d]!), x.offset);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)], [], []);
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normalizeDim(dim0, x.ndim);
  const b = normalizeDim(dim1, x.ndim);
  const order = [...x.shape.keys()];
  [order[a], order[b]] = [order[b]!, order[a]!];
  return permute(x, order);
}

/** The elements start..start+length-1 along dim (a view). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim(dim, x.ndim);
  const size = x.shape[d]!;
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new IndexError(`narrow: [${start}, ${start}+${length}) is outside dim ${dim} of size ${size} (shape ${formatShape(x.shape)})`);
  }
  const shape = [...x.shape];
  shape[d] = length;
  const out = viewOf(x, shape, x.strides, x.offset + s * x.strides[d]!);
  // The views are disposed at once: they would hold the gradient's memory until the step's scope
  // ends, long after the backward consumed and freed it.
  const recorded = record(out, 'narrow', [x], (g) => {
    const full = zeros(x.shape, g.dtype);
    copyInto(narrow(full, d, s, length), g).dispose();
    return [full];
  }, [], []);
  if (recorded.gradFn !== null) {
    recorded.gradFn.addInto = (into, g) => {
      const place = narrow(into, d, s, length);
      addInPlace(place, g);
      place.dispose();
    };
  }
  return recorded;
}

/** Python-style slice along dim: start (inclusive), end (exclusive), step > 0; negatives count from the end. */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normalizeDim(dim, x.ndim);
  const size = x.shape[d]!;
  if (!Number.isInteger(step) || step <= 0) throw new ValueError(`slice: step must be a positive integer, not ${step}`);
  const clampIndex = (i: number) => Math.min(size, Math.max(0, i < 0 ? i + size : i));
  const s = clampIndex(start);
  const e = Math.max(s, clampIndex(end ?? size));
  if (step === 1) return narrow(x, d, s, e - s);
  const length = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[d] = length;
  const strides = [...x.strides];
  strides[d] = x.strides[d]! * step;
  const out = viewOf(x, shape, strides, x.offset + s * x.strides[d]!);
  return record(out, 'slice', [x], (g) => {
    const full = zeros(x.shape, g.dtype);
    copyInto(slice(full, d, s, e, step), g).dispose();
    return [full];
  }, [], []);
}

/** The sub-tensor at `index` along dim, with that dim removed (a view). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim(dim, x.ndim);
  const size = x.shape[d]!;
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size) {
    throw new IndexError(`select: index ${index} is out of range for dim ${dim} of size ${size}`);
  }
  return squeeze(narrow(x, d, i, 1), d);
}

/** Broadcasts to a larger shape without copying (stride 0); -1 keeps a dim. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.ndim;
  if (lead < 0) throw new ShapeError(`expand: cannot expand shape ${formatShape(x.shape)} to fewer dims ${formatShape(shape)}`);
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const own = x.shape[i - lead]!;
    if (own === d) return own === 1 ? 0 : x.strides[i - lead]!;
    if (own === 1) return 0;
    throw new ShapeError(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)} (dim ${i}: ${own} vs ${d})`);
  });
  const out = viewOf(x, target, strides, x.offset);
  return record(out, 'expand', [x], (g) => [sumToShape(g, x.shape)], [], []);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? [...x.shape.keys()].filter((i) => x.shape[i] === 1) : (typeof dim === 'number' ? [dim] : dim).map((d) => normalizeDim(d, x.ndim));
  const keep = [...x.shape.keys()].filter((i) => !(dims.includes(i) && x.shape[i] === 1));
  const out = viewOf(x, keep.map((i) => x.shape[i]!), keep.map((i) => x.strides[i]!), x.offset);
  return record(out, 'squeeze', [x], (g) => [g.reshape(x.shape)], [], []);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, x.ndim + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d]! * x.shape[d]! : 1);
  const out = viewOf(x, shape, strides, x.offset);
  return record(out, 'unsqueeze', [x], (g) => [g.reshape(x.shape)], [], []);
}

/** x itself if contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return record(cloneTensor(x), 'contiguous', [x], (g) => [g], [], []);
}

/** A copy (differentiable). */
export function clone(x: Tensor): Tensor {
  return record(cloneTensor(x), 'clone', [x], (g) => [g], [], []);
}

/** Converts to `dtype` (x itself if it already has it); differentiable between float types. */
export function to(x: Tensor, dtype: DType): Tensor {
  checkDType(dtype);
  if (x.dtype === dtype) return x;
  const out = cloneTensor(x, dtype);
  if (!isFloating(dtype)) return out;
  return record(out, 'to', [x], (g) => [cloneTensor(g, x.dtype)], [], []);
}

/** A view that shares storage but is cut from the graph. */
export function detach(x: Tensor): Tensor {
  return viewOf(x, x.shape, x.strides, x.offset);
}

declare module '../tensor.js' {
  interface Tensor {
    view(shape: Shape): Tensor;
    reshape(shape: Shape): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** Transpose of the last two dims. */
    readonly T: Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    select(dim: number, index: number): Tensor;
    expand(shape: Shape): Tensor;
    squeeze(dim?: number | readonly number[]): Tensor;
    unsqueeze(dim: number): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    to(dtype: DType): Tensor;
    detach(): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  view: method(view), reshape: method(reshape), flatten: method(flatten), permute: method(permute),
  transpose: method(transpose), narrow: method(narrow), slice: method(slice), select: method(select),
  expand: method(expand), squeeze: method(squeeze), unsqueeze: method(unsqueeze), contiguous: method(contiguous),
  clone: method(clone), to: method(to), detach: method(detach),
});
Object.defineProperty(Tensor.prototype, 'T', {
  get(this: Tensor) {
    return transpose(this, -2, -1);
  },
});
