// Declaration of the axis reduction (native/src/reduce/).
import type { TypedArray } from '../dtype.js';

export enum ReduceOp {
  sum, sumSquares, prod, max, min, any, all,
}

export interface ReduceKernels {
  /** out[o, i] = op over r of x[o, r, i] for a contiguous [outer, n, inner] block; max/min also give indices. */
  reduce(op: ReduceOp, dtype: number, x: TypedArray, xOffset: number, outer: number, n: number, inner: number, out: TypedArray, index: BigInt64Array | null): void;
}
