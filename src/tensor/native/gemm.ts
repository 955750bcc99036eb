/** bType codes of gemm's B operand: float32, bfloat16 bits or IEEE half bits. */
export type GemmBType = 0 | 1 | 2;

/** One product of gemmNkMany: B (n × K, stored rows of K from bOffset) and its output c [M, n]. */
export interface GemmNkProduct {
  b: Float32Array | Uint16Array;
  bOffset: number;
  bType: GemmBType;
  n: number;
  /** 0 overwrites c; 1 adds the product to it (a bias copied into c first). */
  beta: number;
  c: Float32Array;
}

/**
 * Matrix products and the FMA peak (native/src/bind_gemm.cc). Matrices are row-major; offsets, lds and
 * strides count elements. For each b < batch:
 *   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]
 * with op(A) M x K (A stored K x M when transA) and op(B) K x N (B stored N x K when transB); item b of
 * X starts at xOffset + b * strideX (strideA/strideB 0 broadcasts one matrix; strideC must be > 0 when
 * batch > 1). beta = 0 overwrites C without reading it. Throws RangeError when a size is negative, a
 * leading dimension is below the stored row length, or a buffer is too short.
 */
export interface GemmKernels {
  /** float32 product; B is a Float32Array (bType 0) or the bits of bf16 (1) / f16 (2) values in a Uint16Array. */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOffset: number,
    lda: number,
    strideA: number,
    B: Float32Array | Uint16Array,
    bOffset: number,
    bType: GemmBType,
    ldb: number,
    strideB: number,
    beta: number,
    C: Float32Array,
    cOffset: number,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
  /** float64 product (gradient checks), same layout without bType. */
  gemmF64(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float64Array,
    aOffset: number,
    lda: number,
    strideA: number,
    B: Float64Array,
    bOffset: number,
    ldb: number,
    strideB: number,
    beta: number,
    C: Float64Array,
    cOffset: number,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
  /**
   * Several products over one A in one call: for each product, c [M, n] = A [M, K]·Bᵀ + beta·c with B
   * the n × K matrix stored from element bOffset of b. Each c is what gemm gives for that product alone,
   * bit for bit; with few rows (a decoding step's q/k/v or gate/up) they share one job on the threads.
   * Native builds only (the WebAssembly build calls gemm per product).
   */
  gemmNkMany?(A: Float32Array, M: number, K: number, products: readonly GemmNkProduct[]): void;
  /**
   * GFLOP/s of independent in-register FMA chains of `widthBits` run for about `seconds` on `threads`
   * threads: the ceiling GEMM speed is judged against. Throws when the CPU (capped by PEFTJS_SIMD) lacks
   * the width (128 and 256 need AVX2+FMA, 512 needs AVX-512).
   */
  fmaPeak(widthBits: 128 | 256 | 512, threads: number, seconds: number): number;
}
