// Ops that run along a dim in order: sort, topk and cumsum. Sort and topk move the dim last and
// sort rows natively; their values carry the gradient back to where each value came from.
import { DTYPES, isFloating, type DType } from '../dtype.js';
import { IndexError } from '../errors.js';
import { record } from '../autograd.js';
import { noGrad } from '../grad-mode.js';
import { normalizeDim, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { cloneTensor, zeros } from './create-ops.js';
import { scatterAdd } from './indexing.js';
import { transpose } from './views.js';
import { method } from './method.js';

export interface SortResult {
  values: Tensor;
  /** Positions along the dim (int64). */
  indices: Tensor;
}

/** The dtype the sort kernels compare in for values of dtype `d`. */
function compareType(d: DType): DType {
  if (d === 'bfloat16' || d === 'float16') return 'float32';
  if (d === 'uint8' || d === 'bool') return 'int32';
  return d;
}

/** Runs a row kernel over x with dim d moved last; returns values (x's dtype) and int64 indices with `width` per row. */
function byRows(x: Tensor, d: number, width: number, kernel: (ct: number, rows: Tensor, values: Tensor, indices: Tensor) => void): SortResult {
  const last = x.ndim - 1;
  const moved = d === last ? x : noGrad(() => transpose(x, d, last));
  const ct = compareType(x.dtype);
  const rows = moved.isContiguous() && moved.dtype === ct ? moved : cloneTensor(moved, ct);
  const shape = [...moved.shape.slice(0, -1), width];
  let values = Tensor.empty(shape, ct);
  const indices = Tensor.empty(shape, 'int64');
  if (rows.size > 0 && values.size > 0) kernel(DTYPES[ct].code, rows, values, indices);
  if (rows !== moved) rows.dispose();
  if (moved !== x) moved.dispose();
  if (ct !== x.dtype) {
    const converted = cloneTensor(values, x.dtype);
    values.dispose();
    values = converted;
  }
  return d === last ? { values, indices } : { values: transpose(values, d, last), indices: transpose(indices, d, last) };
}

/** Values receive the gradient at the positions they were taken from. */
function recordPicked(name: string, x: Tensor, d: number, result: SortResult): SortResult {
  const { indices } = result;
  record(result.values, name, [x], (g) => [scatterAdd(zeros(x.shape, g.dtype), d, indices, g)], [indices]);
  return result;
}

/** Sorts along dim (stable: equal values keep their order; NaN counts as the largest value). */
export function sort(x: Tensor, dim = -1, descending = false): SortResult {
  const d = normalizeDim(dim, x.ndim);
  const n = x.shape[d]!;
  const result = byRows(x, d, n, (ct, rows, values, indices) =>
    native.sort(ct, rows.buffer, rows.offset, rows.size / n, n, descending, values.buffer, indices.buffer as BigInt64Array));
  return recordPicked('sort', x, d, result);
}

/**
 * The k largest (or smallest) values along dim and their positions. Results are always sorted
 * (sorted = false is accepted for PyTorch parity); equal values go to the lower position first.
 */
export function topk(x: Tensor, k: number, dim = -1, largest = true, _sorted = true): SortResult {
  const d = normalizeDim(dim, x.ndim);
  const n = x.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new IndexError(`topk: k = ${k} is out of range for dim ${dim} of size ${n}; it must be an integer in [0, ${n}]`);
  }
  const result = byRows(x, d, k, (ct, rows, values, indices) =>
    native.topk(ct, rows.buffer, rows.offset, rows.size / n, n, k, largest, values.buffer, indices.buffer as BigInt64Array));
  return recordPicked('topk', x, d, result);
}

/** Running sums along dim; integers and bool sum in int64, as in PyTorch. */
export function cumsum(x: Tensor, dim: number): Tensor {
  return scan(x, normalizeDim(dim, Math.max(1, x.ndim)), false);
}

/** Prefix sums (suffix sums if reverse) along d; each is the other's backward. */
function scan(x: Tensor, d: number, reverse: boolean): Tensor {
  const resultType = isFloating(x.dtype) ? x.dtype : 'int64';
  const ct = resultType === 'bfloat16' || resultType === 'float16' ? 'float32' : resultType;
  const shape = x.ndim === 0 ? [1] : x.shape;
  const xc = x.isContiguous() && x.dtype === ct ? x : cloneTensor(x, ct);
  let out = Tensor.empty(x.shape, ct);
  if (out.size > 0) {
    native.cumsum(DTYPES[ct].code, xc.buffer, xc.offset, numel(shape.slice(0, d)), shape[d]!, numel(shape.slice(d + 1)), reverse, out.buffer);
  }
  if (xc !== x) xc.dispose();
  if (ct !== resultType) {
    const converted = cloneTensor(out, resultType);
    out.dispose();
    out = converted;
  }
  return record(out, 'cumsum', [x], (g) => [scan(g, d, !reverse)]);
}

declare module '../tensor.js' {
  interface Tensor {
    sort(dim?: number, descending?: boolean): SortResult;
    topk(k: number, dim?: number, largest?: boolean, sorted?: boolean): SortResult;
    cumsum(dim: number): Tensor;
  }
}

Object.assign(Tensor.prototype, { sort: method(sort), topk: method(topk), cumsum: method(cumsum) });
