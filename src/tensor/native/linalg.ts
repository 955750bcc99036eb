// Declarations of the linear-algebra kernels (native/src/linalg/). Matrices are contiguous and
// row-major, item b of a batch at b * rows * cols; float buffers are all Float32Array or all
// Float64Array, which picks the precision.
type FloatArray = Float32Array | Float64Array;

/** Per-item status of svd(). */
export enum SvdStatus {
  ok = 0,
  nonFinite = 1,
  noConvergence = 2,
}

export interface LinalgKernels {
  /**
   * A (m×n) = U diag(S) Vh, k = min(m, n): U m×m (full) or m×k, S descending, Vh n×n (full) or k×n;
   * each column of U has its largest-magnitude entry positive. info gets a SvdStatus per item.
   */
  svd(a: FloatArray, aOffset: number, batch: number, m: number, n: number, full: boolean, u: FloatArray, s: FloatArray, vh: FloatArray, info: Int32Array): void;
  /** A (m×n) = Q R (Householder, LAPACK signs): Q m×k orthonormal columns, R k×n upper triangular. */
  qr(a: FloatArray, aOffset: number, batch: number, m: number, n: number, q: FloatArray, r: FloatArray): void;
  /**
   * P A = L U in place (n×n), piv[k] = row swapped with k. info per item: -1 fine, k ≥ 0 the first
   * pivot with |u_kk| ≤ n·eps·max|A| (numerically singular), -2 a non-finite entry in A.
   */
  luFactor(a: FloatArray, batch: number, n: number, piv: Int32Array, info: Int32Array): void;
  /** Overwrites b (n×k per item) with the solution of A X = B, or Aᵀ X = B when trans. */
  luSolve(lu: FloatArray, piv: Int32Array, batch: number, n: number, b: FloatArray, k: number, trans: boolean): void;
  /** det(A) per item from the factors. */
  luDet(lu: FloatArray, piv: Int32Array, batch: number, n: number, out: FloatArray): void;
}
