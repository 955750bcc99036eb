// The GEMM paths chosen by shape, at their edges: moderate M (op(B) streamed panel by panel, up to
// 256 rows on AVX-512 and AVX2), narrow N (N <= 16, LoRA's x Aᵀ: op(A) read in place), and a small K (LoRA's
// h Bᵀ: op(B) packed by the caller alone). Each against float64 sums, on this CPU's kernels and, in a
// child process, on the AVX2 ones (PEFTJS_SIMD=avx2) when the CPU has AVX-512.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { rerunAtSimdLevels } from '../helpers/simd-child.js';
import { check } from './gemm-check.js';
import { floatToF16 } from '../../src/tensor/half.js';

const trans: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

test('moderate M: row counts around the 12-row tile and the 256-row limit, K across 256-deep blocks, N tails', () => {
  for (const [transA, transB] of trans) {
    for (const M of [9, 13, 24, 255, 256, 257]) {
      check({ M, N: 37, K: 19, transA, transB, alpha: 0.5, beta: 0.5, pad: 1 }, M);
    }
    check({ M: 100, N: 129 + 128, K: 513, transA, transB, pad: 2 });
    check({ M: 30, N: 1, K: 300, transA, transB, beta: 1 });
  }
  for (const bType of [1, 2] as const) check({ M: 50, N: 200, K: 260, transB: true, bType, beta: 0.25 });
  check({ M: 20, N: 40, K: 300, batch: 3, broadcastB: true, alpha: 2 });
});

// The last panel of rows is computed by a tile of as many rows as remain (1 to 11 past the 12-row
// panels on AVX-512, 1 to 5 past the 6-row ones on AVX2), on both the moderate-M and the packed path.
test('every row count of a last partial panel, N and K tails, alpha and beta', () => {
  for (let rest = 1; rest < 12; rest++) {
    for (const M of [12 + rest, 264 + rest]) check({ M, N: 45, K: 21, alpha: 0.5, beta: rest % 2 ? 0 : 0.5 }, M);
  }
  check({ M: 128, N: 64, K: 40, transA: true, transB: true });
});

test('narrow N (N <= 16): every width, rows around the 12- and 4-row blocks, op(A) transposed or not', () => {
  for (const [transA, transB] of trans) {
    for (const N of [1, 5, 15, 16])
      check({ M: 29, N, K: 33, transA, transB, alpha: 1.5, beta: N % 2 ? 0 : 0.5, pad: 2 }, N);
    check({ M: 1000, N: 16, K: 70, transA, transB });
  }
  for (const M of [9, 11, 12, 13, 16, 17]) check({ M, N: 16, K: 600, beta: 1 }, M);
  for (const bType of [1, 2] as const) check({ M: 40, N: 16, K: 100, transB: true, bType });
  check({ M: 50, N: 16, K: 1, batch: 2, alpha: 0.5 });
  check({ M: 15, N: 17, K: 20 }); // one past narrow: the general path
});

test('small K (B packed by the caller): LoRA-shaped h Bᵀ and tails', () => {
  for (const [transA, transB] of trans) {
    check({ M: 600, N: 300, K: 16, transA, transB, beta: 0.5 });
    check({ M: 300, N: 45, K: 3, transA, transB, pad: 1 });
  }
});

rerunAtSimdLevels(import.meta.url, ['avx2']);

// A row of C must not depend on the rows beside it: concurrent training jobs and served requests
// put rows of different callers into one product and must get what each gets alone. The moderate-M
// path once cut K into 256-deep blocks where the packed path cuts 384 (K = 768): rows differed.
test('a row of the product is the same bits whether M selects the moderate-M or the packed path', () => {
  const K = 768;
  const N = 96;
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const bf32 = values(K * N);
  const bf16 = Uint16Array.from(bf32, (v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16);
  for (const [bType, b] of [
    [0, bf32],
    [1, bf16],
  ] as const) {
    const product = (a: Float32Array, M: number) => {
      const c = new Float32Array(M * N);
      native.gemm(false, false, M, N, K, 1, a, 0, K, 0, b, 0, bType, N, 0, 0, c, 0, N, 0, 1);
      return c;
    };
    for (const M of [128, 300, 544]) {
      const a = values(M * K);
      assert.deepEqual(
        product(a, M).subarray(0, 16 * N),
        product(a.subarray(0, 16 * K), 16),
        `bType ${bType}, M = ${M}`,
      );
    }
  }
});

// An LM head (a bf16 B stored N x K, N >= 16 K, short rows) gets one row per sequence; up to 16 rows
// run as few-row products of at most 8 rows (gemm.cc, chunked_rows), so each row has the bits of that
// row alone (on AVX2 the 9-32-row kernel, which 17 rows and more take, sums in another order).
test('a vocabulary-wide bf16 product of up to 16 rows: each row is the bits of that row alone', () => {
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  const [N, K] = [16 * 96 + 5, 96];
  const b = Uint16Array.from(values(N * K, 1), (v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16);
  const rowsAlone = (a: Float32Array, M: number, beta: number, c0: Float32Array) =>
    Array.from({ length: M }, (_, i) => {
      const alone = c0.slice(i * N, (i + 1) * N);
      native.gemm(false, true, 1, N, K, 0.75, a.subarray(i * K, (i + 1) * K), 0, K, 0, b, 0, 1, K, 0, beta, alone, 0, N, 0, 1);
      return alone;
    });
  for (const beta of [0, 1]) {
    for (const M of [9, 12, 16]) {
      const a = values(M * K, 2);
      const c0 = values(M * N, 3);
      const c = c0.slice();
      native.gemm(false, true, M, N, K, 0.75, a, 0, K, 0, b, 0, 1, K, 0, beta, c, 0, N, 0, 1);
      const alone = rowsAlone(a, M, beta, c0);
      alone.forEach((row, i) => assert.deepEqual(c.subarray(i * N, (i + 1) * N), row, `M ${M}, beta ${beta}, row ${i}`));
    }
  }
});

// Serving batches the decode rows of different requests into one few-row product (M <= 8): each row
// must be what that request would get alone, also when the product adds to C (beta 1: a Linear's bias
// copied into C first). The short-row kernel once let the compiler fuse alpha * sum + beta * c one way
// for some rows and the other way for others, so rows 2..8 of a biased product differed in the last bit.
test('each row of a few-row product (B stored N x K) is the bits of that row alone, with beta', () => {
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  for (const K of [7, 43, 576, 1536, 2000]) {
    const N = 19;
    const bf32 = values(N * K, 1);
    const bf16 = Uint16Array.from(bf32, (v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16);
    const f16 = Uint16Array.from(bf32, (v) => floatToF16(v));
    for (const [bType, b] of [
      [0, bf32],
      [1, bf16],
      [2, f16],
    ] as const) {
      for (const beta of [0, 1]) {
        for (let M = 2; M <= 8; M++) {
          const a = values(M * K, 2);
          const c0 = values(M * N, 3);
          const c = c0.slice();
          native.gemm(false, true, M, N, K, 0.75, a, 0, K, 0, b, 0, bType, K, 0, beta, c, 0, N, 0, 1);
          for (let i = 0; i < M; i++) {
            const alone = c0.slice(i * N, (i + 1) * N);
            native.gemm(false, true, 1, N, K, 0.75, a.subarray(i * K, (i + 1) * K), 0, K, 0, b, 0, bType, K, 0, beta, alone, 0, N, 0, 1);
            assert.deepEqual(c.subarray(i * N, (i + 1) * N), alone, `K ${K}, bType ${bType}, beta ${beta}, M ${M}, row ${i}`);
          }
        }
      }
    }
  }
});

// A deep product (the LM head's input gradient: 128 x 50257 times 50257 x 768) is too deep for the
// moderate-M path to keep op(A) packed in cache and goes to the packed path: its rows must be the
// bits the moderate-M path gives them in a shallower product of the same K blocks.
test('a row of a deep product is the same bits whether it runs on the moderate-M or the packed path', () => {
  const K = 9000;
  const N = 40;
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  const b = values(K * N, 1);
  const product = (a: Float32Array, M: number) => {
    const c = new Float32Array(M * N);
    native.gemm(false, false, M, N, K, 1, a, 0, K, 0, b, 0, 0, N, 0, 0, c, 0, N, 0, 1);
    return c;
  };
  const a = values(240 * K, 2); // 8.6 MB of op(A): the packed path
  assert.deepEqual(product(a, 240).subarray(0, 16 * N), product(a.subarray(0, 16 * K), 16));
});

// Wide products on several threads give each thread its own columns and its own packed operands
// (the column split, over the packed and the moderate-M path): C must be the same bits as on one
// thread, for every layout and for a last column range that ends in a partial panel, with K over two
// blocks and beta accumulating.
test('the column split of wide products on 2 threads gives the 1-thread bits', () => {
  for (const M of [128, 300]) columnSplitMatchesOneThread(M, 600, 600);
});

function columnSplitMatchesOneThread(M: number, K: number, N: number): void {
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed));
  const a = values(M * K, 1);
  const bf32 = values(K * N, 2);
  const bf16 = Uint16Array.from(bf32, (v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16);
  const c0 = values(M * N, 3);
  const before = native.numThreads();
  try {
    for (const [transA, transB] of trans) {
      for (const [bType, b] of [
        [0, bf32],
        [1, bf16],
      ] as const) {
        const product = (threads: number) => {
          native.setNumThreads(threads);
          const c = c0.slice();
          native.gemm(transA, transB, M, N, K, 0.75, a, 0, transA ? M : K, 0, b, 0, bType, transB ? K : N, 0, 0.5, c, 0, N, 0, 1);
          return c;
        };
        assert.deepEqual(product(2), product(1), `M ${M}, transA ${transA}, transB ${transB}, bType ${bType}`);
      }
    }
  } finally {
    native.setNumThreads(before);
  }
}
