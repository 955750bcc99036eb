// The few-row bf16 kernel (native/src/gemm_small_m.h: 9 to 32 rows against a bf16 B stored N x K, the
// LM head and Linear layers of a serving step). It equals, bit for bit, the same rows computed by the
// packed path (128 rows): each element is the packed tile's FMA chain in its K blocks, so a served row
// does not depend on how many rows share its step. Checked with beta 0 and 1 (the serving path's
// values), strip and K-block tails, per instruction set (AVX2 and portable in child processes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';
import { rerunAtSimdLevels } from '../helpers/simd-child.js';
import { check } from './gemm-check.js';

const values = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + salt) * 0.5);
const toBf16 = (v: Float32Array) => Uint16Array.from(v, (x) => new Uint32Array(new Float32Array([x]).buffer)[0]! >>> 16);

test('9 to 32 rows against a bf16 B (N x K): each row has the bits of the packed path (128 rows)', () => {
  // N: a partial 64-column strip and a partial 16-column transpose block; K: one block with a tail,
  // and 1030 = three K blocks of 344 (a 16-wide tail in each).
  for (const [N, K] of [
    [37, 70],
    [130, 1030],
  ] as const) {
    const b = toBf16(values(N * K, 1));
    const big = 128;
    const a = values(big * K, 2);
    const c0 = values(big * N, 3);
    for (const beta of [0, 1]) {
      const product = (M: number) => {
        const c = c0.slice(0, M * N);
        native.gemm(false, true, M, N, K, 1.5, a, 0, K, 0, b, 0, 1, K, 0, beta, c, 0, N, 0, 1);
        return c;
      };
      const packed = product(big);
      for (const M of [9, 13, 16, 24, 31, 32]) {
        assert.deepEqual(product(M), packed.subarray(0, M * N), `N ${N}, K ${K}, M ${M}, beta ${beta}`);
      }
    }
  }
});

test('9 to 32 rows against a bf16 B (N x K): against the float64 reference, transposed A, padded rows, batches', () => {
  for (const M of [9, 16, 17, 32]) {
    check({ M, N: 133, K: 300, transB: true, bType: 1, alpha: 0.75, beta: 0.5, pad: 3 }, M);
    check({ M, N: 70, K: 65, transA: true, transB: true, bType: 1, batch: 2, broadcastB: true }, M);
  }
});

rerunAtSimdLevels(import.meta.url, ['avx2', 'portable']);
