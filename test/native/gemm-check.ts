// The native GEMM checked element by element against a float64 triple loop (shared by the GEMM tests).
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { bf16ToFloat, f16ToFloat, floatToBf16, floatToF16 } from '../../src/tensor/half.js';

/** Deterministic uniform numbers in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

export interface Case {
  transA?: boolean;
  transB?: boolean;
  M: number;
  N: number;
  K: number;
  alpha?: number;
  beta?: number;
  bType?: 0 | 1 | 2;
  pad?: number; // extra elements at the end of every stored row of A, B and C
  batch?: number;
  broadcastA?: boolean; // strideA = 0
  broadcastB?: boolean; // strideB = 0
  f64?: boolean;
}

/** Runs one product through the addon and checks every element of C, and that padding is untouched. */
export function check(c: Case, seed = 1): void {
  const { M, N, K, transA = false, transB = false, alpha = 1, beta = 0, bType = 0, pad = 0, batch = 1 } = c;
  const next = rng(seed);
  const [aRows, aCols] = transA ? [K, M] : [M, K];
  const [bRows, bCols] = transB ? [N, K] : [K, N];
  const lda = aCols + pad;
  const ldb = bCols + pad;
  const ldc = N + pad;
  const aOff = 3;
  const bOff = 5;
  const cOff = 2;
  const strideA = c.broadcastA ? 0 : aRows * lda + 1;
  const strideB = c.broadcastB ? 0 : bRows * ldb + 2;
  const strideC = M * ldc + 3;
  const aLen = aOff + (batch - 1) * strideA + aRows * lda;
  const bLen = bOff + (batch - 1) * strideB + bRows * ldb;
  const cLen = cOff + (batch - 1) * strideC + M * ldc;
  const Ftype = c.f64 ? Float64Array : Float32Array;
  const A = new Ftype(aLen).map(() => next());
  const Bvals = new Float64Array(bLen);
  const B16 = new Uint16Array(bLen);
  const Bf = new Ftype(bLen);
  for (let i = 0; i < bLen; i++) {
    const v = next();
    if (bType === 1) B16[i] = floatToBf16(v);
    if (bType === 2) B16[i] = floatToF16(v);
    Bvals[i] = bType === 1 ? bf16ToFloat(B16[i]!) : bType === 2 ? f16ToFloat(B16[i]!) : ((Bf[i] = v), Bf[i]!);
  }
  const C = new Ftype(cLen).map(() => (beta === 0 ? NaN : next()));
  const C0 = C.slice();
  if (c.f64) {
    native.gemmF64(
      transA,
      transB,
      M,
      N,
      K,
      alpha,
      A as Float64Array,
      aOff,
      lda,
      strideA,
      Bf as Float64Array,
      bOff,
      ldb,
      strideB,
      beta,
      C as Float64Array,
      cOff,
      ldc,
      strideC,
      batch,
    );
  } else {
    native.gemm(
      transA,
      transB,
      M,
      N,
      K,
      alpha,
      A as Float32Array,
      aOff,
      lda,
      strideA,
      bType === 0 ? (Bf as Float32Array) : B16,
      bOff,
      bType,
      ldb,
      strideB,
      beta,
      C as Float32Array,
      cOff,
      ldc,
      strideC,
      batch,
    );
  }
  const tol = c.f64 ? 1e-13 : 2e-6;
  const written = new Uint8Array(cLen);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          const a = A[aOff + b * strideA + (transA ? k * lda + i : i * lda + k)]!;
          const bv = Bvals[bOff + b * strideB + (transB ? j * ldb + k : k * ldb + j)]!;
          sum += a * bv;
          mag += Math.abs(a * bv);
        }
        const at = cOff + b * strideC + i * ldc + j;
        const old = beta === 0 ? 0 : C0[at]!;
        const want = alpha * sum + beta * old;
        const bound = tol * (Math.abs(alpha) * mag + Math.abs(beta * old)) + 1e-30;
        written[at] = 1;
        if (!(Math.abs(C[at]! - want) <= bound)) {
          assert.fail(`${JSON.stringify(c)}: C[${b}][${i}][${j}] = ${C[at]}, want ${want} (tolerance ${bound})`);
        }
      }
    }
  }
  for (let at = 0; at < cLen; at++) {
    if (!written[at] && !Object.is(C[at], C0[at]))
      assert.fail(`${JSON.stringify(c)}: wrote C[${at}] outside the matrices`);
  }
}
