// Declarations of the elementwise kernels (native/src/elementwise/). Offsets are in elements;
// outputs are contiguous from index 0. Op codes match native/src/elementwise/ops.h.
import type { TypedArray } from '../dtype.js';

export enum UnaryOp {
  neg, exp, log, sqrt, rsqrt, abs, tanh, sigmoid, relu, geluErf,
  geluTanh, silu, softplus, sin, cos, sign, square, reciprocal, log1p, expm1,
  erf, floor, ceil, addScalar, mulScalar, powScalar, clamp, rsubScalar,
  rpowScalar, logicalNot, round,
}

export enum BinaryOp {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge,
  and, or, geluErfBackward, geluTanhBackward, siluBackward, sigmoidBackward, tanhBackward, reluBackward,
  softplusBackward, atan2,
}

export interface ElementwiseKernels {
  /** y = op(x) elementwise, x strided, y contiguous; s0/s1 are the op's scalars (clamp bounds, ...). */
  unary(op: UnaryOp, dtype: number, x: TypedArray, xOffset: number, shape: number[], xStrides: number[], y: TypedArray, s0: number, s1: number): void;
  /** out = op(a, b) with broadcasting expressed as 0 strides; comparisons write a Uint8Array. */
  binary(op: BinaryOp, dtype: number, a: TypedArray, aOffset: number, aStrides: number[], b: TypedArray, bOffset: number, bStrides: number[], shape: number[], out: TypedArray): void;
  /** out = cond ? a : b. */
  where(dtype: number, cond: Uint8Array, cOffset: number, cStrides: number[], a: TypedArray, aOffset: number, aStrides: number[], b: TypedArray, bOffset: number, bStrides: number[], shape: number[], out: TypedArray): void;
  /** Copies a strided view into a strided destination with the same element size. */
  copyStrided(src: TypedArray, srcOffset: number, srcStrides: number[], dst: TypedArray, dstOffset: number, dstStrides: number[], shape: number[]): void;
  /** Converts n contiguous elements between dtypes (codes from DTYPES). */
  cast(from: number, src: TypedArray, srcOffset: number, to: number, dst: TypedArray, dstOffset: number, n: number): void;
}
