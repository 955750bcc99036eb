// Reductions over axes: sum, mean, prod, max, min, argmax, argmin, var, std, norm, logsumexp,
// any, all. Each reduces a contiguous [outer, n, inner] block per run of adjacent axes.
import { DTYPES, isFloating, type DType } from '../dtype.js';
import { ValueError } from '../errors.js';
import { record } from '../autograd.js';
import { noGrad } from '../grad-mode.js';
import { normalizeDim, numel, sameShape, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { ReduceOp } from '../native/reduce.js';
import { cloneTensor } from './create-ops.js';
import { add, div, eq, mul, sqrt, sub, abs, exp, log, powScalar } from './arith.js';
import { method } from './method.js';

export type Dims = number | readonly number[] | undefined;

function normalizeDims(x: Tensor, dims: Dims): number[] {
  if (dims === undefined) return [...Array(x.ndim).keys()];
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = [...new Set(list.map((d) => normalizeDim(d, x.ndim)))];
  return out.sort((a, b) => a - b);
}

function keptShape(shape: Shape, dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

function droppedShape(shape: Shape, dims: number[]): number[] {
  return shape.filter((_, i) => !dims.includes(i));
}

/** Reduces `dims` of x with a native op; returns the keepdim-shaped result (no autograd). */
function reduceRaw(op: ReduceOp, x: Tensor, dims: number[], dtype: DType): Tensor {
  let current = x.isContiguous() && x.dtype === dtype ? x : cloneTensor(x, dtype);
  let shape = [...x.shape];
  // Reduce runs of adjacent dims from the last run to the first.
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d - 1) last[1] = d;
    else runs.push([d, d]);
  }
  for (const [first, lastDim] of runs.reverse()) {
    const outer = numel(shape.slice(0, first));
    const n = numel(shape.slice(first, lastDim + 1));
    const inner = numel(shape.slice(lastDim + 1));
    const nextShape = shape.map((d, i) => (i >= first && i <= lastDim ? 1 : d));
    const out = Tensor.empty(nextShape, dtype);
    if (n === 0 && (op === ReduceOp.max || op === ReduceOp.min)) {
      throw new ValueError(`max/min over an empty dimension of a tensor of shape [${x.shape.join(', ')}]`);
    }
    if (out.size > 0) {
      if (n === 0) out.fill_(op === ReduceOp.prod || op === ReduceOp.all ? 1 : 0);
      else native.reduce(op, DTYPES[dtype].code, current.buffer, current.offset, outer, n, inner, out.buffer, null);
    }
    if (current !== x) current.dispose();
    current = out;
    shape = nextShape;
  }
  return current === x ? cloneTensor(x) : current;
}

function accumulationType(d: DType): DType {
  if (d === 'bfloat16' || d === 'float16') return 'float32';
  if (d === 'bool' || d === 'uint8' || d === 'int32') return 'int64';
  return d;
}

function finish(kept: Tensor, x: Tensor, dims: number[], keepdim: boolean, resultType: DType): Tensor {
  let out = kept;
  if (out.dtype !== resultType) {
    out = cloneTensor(kept, resultType);
    kept.dispose();
  }
  return keepdim ? out : out.reshape(droppedShape(x.shape, dims));
}

/** Sum over `dims` (all if omitted). Integer sums are int64, as in PyTorch. */
export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims(x, dims);
  const at = accumulationType(x.dtype);
  const resultType = isFloating(x.dtype) ? x.dtype : 'int64';
  const kept = d.length === 0 ? cloneTensor(x, at) : reduceRaw(ReduceOp.sum, x, d, at);
  const out = finish(kept, x, d, keepdim, resultType);
  return record(out, 'sum', [x], (g) => [expandGrad(g, x.shape, d, keepdim)]);
}

/** Broadcasts a reduced gradient back to the input's shape. */
function expandGrad(g: Tensor, shape: Shape, dims: number[], keepdim: boolean): Tensor {
  const kept = keepdim ? g : g.reshape(keptShape(shape, dims));
  return kept.expand(shape);
}

export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims(x, dims);
  const count = d.reduce((n, i) => n * x.shape[i]!, 1);
  return div(sum(isFloating(x.dtype) ? x : x.to('float32'), d, keepdim), count);
}

export function prod(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims(x, dims);
  const at = accumulationType(x.dtype);
  const kept = reduceRaw(ReduceOp.prod, x, d, at);
  const out = finish(kept, x, d, keepdim, isFloating(x.dtype) ? x.dtype : 'int64');
  // d(prod)/dx_i = prod / x_i (inputs with zeros get an exact gradient only where a single zero sits)
  return record(out, 'prod', [x], (g) => [div(mul(expandGrad(g, x.shape, d, keepdim), expandGrad(out, x.shape, d, keepdim)), x)], [out]);
}

function extreme(op: ReduceOp, name: string, x: Tensor, dims: Dims, keepdim: boolean): Tensor {
  const d = normalizeDims(x, dims);
  const ct = x.dtype === 'bfloat16' || x.dtype === 'float16' ? 'float32' : x.dtype;
  const kept = reduceRaw(op, x, d, ct);
  const out = finish(kept, x, d, keepdim, x.dtype);
  // The gradient is shared evenly by all elements that attain the extreme (PyTorch's amax rule).
  return record(out, name, [x], (g) => {
    const value = expandGrad(out, x.shape, d, keepdim);
    const hits = eq(x, value).to(x.dtype);
    const count = sum(hits, d, true);
    return [mul(expandGrad(g, x.shape, d, keepdim), div(hits, count))];
  }, [out]);
}

export function max(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extreme(ReduceOp.max, 'max', x, dims, keepdim);
}

export function min(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extreme(ReduceOp.min, 'min', x, dims, keepdim);
}

function argExtreme(op: ReduceOp, x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const flat = dim === undefined;
  const src = flat ? x.reshape([x.size]) : x;
  const d = normalizeDim(dim ?? 0, src.ndim);
  const ct = src.dtype === 'bfloat16' || src.dtype === 'float16' ? 'float32' : src.dtype;
  const c = src.isContiguous() && src.dtype === ct ? src : cloneTensor(src, ct);
  const outer = numel(src.shape.slice(0, d));
  const n = src.shape[d]!;
  const inner = numel(src.shape.slice(d + 1));
  if (n === 0) throw new ValueError(`argmax/argmin over an empty dimension (shape [${x.shape.join(', ')}])`);
  const values = Tensor.empty([outer * inner], ct);
  const index = Tensor.empty(keptShape(src.shape, [d]), 'int64');
  native.reduce(op, DTYPES[ct].code, c.buffer, c.offset, outer, n, inner, values.buffer, index.buffer as BigInt64Array);
  values.dispose();
  if (c !== src) c.dispose();
  if (flat) return keepdim ? index.reshape(x.shape.map(() => 1)) : index.reshape([]);
  return keepdim ? index : index.reshape(droppedShape(src.shape, [d]));
}

/** Index of the largest value along `dim` (of the flattened tensor if omitted); first one on ties. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme(ReduceOp.max, x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme(ReduceOp.min, x, dim, keepdim);
}

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, dims?: Dims, keepdim = false, correction = 1): Tensor {
  const d = normalizeDims(x, dims);
  const count = d.reduce((n, i) => n * x.shape[i]!, 1);
  const centered = sub(x, mean(x, d, true));
  return div(sum(mul(centered, centered), d, keepdim), Math.max(0, count - correction));
}

export function std(x: Tensor, dims?: Dims, keepdim = false, correction = 1): Tensor {
  return sqrt(variance(x, dims, keepdim, correction));
}

/** Vector p-norm over `dims` (p = 2 by default; 1, Infinity and other p > 0 also work). */
export function norm(x: Tensor, p = 2, dims?: Dims, keepdim = false): Tensor {
  if (p === 2) return sqrt(sum(mul(x, x), dims, keepdim));
  if (p === 1) return sum(abs(x), dims, keepdim);
  if (p === Infinity) return max(abs(x), dims, keepdim);
  if (!(p > 0)) throw new ValueError(`norm: p must be positive, not ${p}`);
  return powScalar(sum(powScalar(abs(x), p), dims, keepdim), 1 / p);
}

/** log(sum(exp(x))) over dims, computed stably. */
export function logsumexp(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims(x, dims);
  const shift = noGrad(() => max(x, d, true));
  const finiteShift = noGrad(() => shift.maskedFill(shift.abs().eq(Infinity), 0));
  const out = add(log(sum(exp(sub(x, finiteShift)), d, true)), finiteShift);
  return keepdim ? out : out.reshape(droppedShape(x.shape, d));
}

export function any(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims(x, dims);
  return finish(reduceRaw(ReduceOp.any, x.dtype === 'bool' ? x : x.ne(0), d, 'bool'), x, d, keepdim, 'bool');
}

export function all(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims(x, dims);
  return finish(reduceRaw(ReduceOp.all, x.dtype === 'bool' ? x : x.ne(0), d, 'bool'), x, d, keepdim, 'bool');
}

/** Sums a broadcast gradient back down to `shape` (the inverse of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  return sum(g, dims, true).reshape(shape);
}

declare module '../tensor.js' {
  interface Tensor {
    sum(dims?: Dims, keepdim?: boolean): Tensor;
    mean(dims?: Dims, keepdim?: boolean): Tensor;
    prod(dims?: Dims, keepdim?: boolean): Tensor;
    max(dims?: Dims, keepdim?: boolean): Tensor;
    min(dims?: Dims, keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    var(dims?: Dims, keepdim?: boolean, correction?: number): Tensor;
    std(dims?: Dims, keepdim?: boolean, correction?: number): Tensor;
    norm(p?: number, dims?: Dims, keepdim?: boolean): Tensor;
    logsumexp(dims?: Dims, keepdim?: boolean): Tensor;
    any(dims?: Dims, keepdim?: boolean): Tensor;
    all(dims?: Dims, keepdim?: boolean): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  sum: method(sum), mean: method(mean), prod: method(prod), max: method(max), min: method(min),
  argmax: method(argmax), argmin: method(argmin), var: method(variance), std: method(std), norm: method(norm),
  logsumexp: method(logsumexp), any: method(any), all: method(all),
});
