// The packed GEMM's blocking at its edges: op(B) wider than one column chunk (4096), and deeper than
// one packed slab (the LM head's input gradient: K in the tens of thousands), against float64 sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native/index.js';

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function check(transB: boolean, M: number, N: number, K: number, beta: number): void {
  const A = values(M * K, 1);
  const B = values(K * N, 2);
  const C = values(M * N, 3);
  const C0 = C.slice();
  native.gemm(false, transB, M, N, K, 0.5, A, 0, K, 0, B, 0, 0, transB ? K : N, 0, beta, C, 0, N, 0, 1);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      let mag = 0;
      for (let k = 0; k < K; k++) {
        const term = A[i * K + k]! * B[transB ? j * K + k : k * N + j]!;
        sum += term;
        mag += Math.abs(term);
      }
      const want = 0.5 * sum + beta * C0[i * N + j]!;
      const got = C[i * N + j]!;
      assert.ok(Math.abs(got - want) <= 1e-5 * (mag + Math.abs(C0[i * N + j]!)), `${M}x${N}x${K} transB=${transB}: C[${i}][${j}] = ${got}, want ${want}`);
    }
  }
}

test('packed GEMM: several column chunks', () => {
  for (const transB of [false, true]) check(transB, 13, 4096 + 4096 + 37, 19, 0.5);
});

test('packed GEMM: several K slabs (deep products accumulate across slabs)', () => {
  for (const transB of [false, true]) check(transB, 7, 40, 70_001, 0.25);
});
