// Declarations of the index kernels (native/src/index/). Offsets are in elements; outputs are
// contiguous from index 0; `dtype` is a DTYPES code; indices are an Int32Array or a
// BigInt64Array. The indexed kernels return -1 when they ran, or the position (from the index
// offset) of the first index outside [0, size of the indexed dim), in which case they wrote nothing.
import type { TypedArray } from '../dtype.js';

export type IndexArray = Int32Array | BigInt64Array;

export interface IndexKernels {
  /** out[o, j, :] = x[o, index[j], :] over contiguous [outer, n, inner] -> [outer, m, inner]; any dtype. */
  indexSelect(x: TypedArray, xOffset: number, outer: number, n: number, inner: number, index: IndexArray, indexOffset: number, m: number, out: TypedArray): number;
  /** dst[o, index[j], :] += src[o, j, :] in place (dst contiguous from 0); float32/64, int32/64. */
  indexAdd(dtype: number, dst: TypedArray, outer: number, n: number, inner: number, index: IndexArray, indexOffset: number, m: number, src: TypedArray, srcOffset: number): number;
  /** out[p] = x[p with coordinate dim := index[p]] for p in `shape` (the index's); x strided, index contiguous; any dtype. */
  gather(x: TypedArray, xOffset: number, xStrides: number[], xDimSize: number, index: IndexArray, indexOffset: number, shape: number[], dim: number, out: TypedArray): number;
  /** dst[p with coordinate dim := index[p]] = src[p] (+= if accumulate) in place for p in `shape`; dst, src strided. */
  scatter(dtype: number, accumulate: boolean, dst: TypedArray, dstOffset: number, dstStrides: number[], dstDimSize: number, index: IndexArray, indexOffset: number, src: TypedArray, srcOffset: number, srcStrides: number[], shape: number[], dim: number): number;
  /** Stable sort of each row of contiguous [rows, n] (NaN largest); float32/64, int32/64. */
  sort(dtype: number, x: TypedArray, xOffset: number, rows: number, n: number, descending: boolean, values: TypedArray, indices: BigInt64Array): void;
  /** The k largest (smallest) values of each row of contiguous [rows, n], sorted, ties to the lower position. */
  topk(dtype: number, x: TypedArray, xOffset: number, rows: number, n: number, k: number, largest: boolean, values: TypedArray, indices: BigInt64Array): void;
  /** Prefix sums along the middle axis of contiguous [outer, n, inner] (suffix sums if reverse); float32/64, int32/64. */
  cumsum(dtype: number, x: TypedArray, xOffset: number, outer: number, n: number, inner: number, reverse: boolean, out: TypedArray): void;
  /** out[i] = keep(seed, i) ? x[i] * scale : 0, kept with probability 1 - p; float32/64, bfloat16, float16. */
  dropout(dtype: number, x: TypedArray, xOffset: number, n: number, seed: number, p: number, scale: number, out: TypedArray): void;
}
