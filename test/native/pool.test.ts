// The thread pool under many quick jobs (a decode step is hundreds of them): every job's tasks all
// run, once, whatever the timing; resizing between jobs is safe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/index.js';

function product(x: Float32Array, w: Float32Array, K: number, N: number): Float32Array {
  const out = new Float32Array(N);
  native.gemm(false, false, 1, N, K, 1, x, 0, K, 0, w, 0, 0, N, 0, 0, out, 0, N, 0, 1);
  return out;
}

test('thousands of quick parallel jobs, with resizes between them, all give the same result', () => {
  const K = 512;
  const N = 1024;
  const x = Float32Array.from({ length: K }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.37));
  const threads = native.numThreads();
  native.setNumThreads(1);
  const serial = product(x, w, K, N);
  try {
    native.setNumThreads(Math.max(2, threads));
    const expected = product(x, w, K, N);
    expected.forEach((v, j) => assert.ok(Math.abs(v - serial[j]!) < 1e-4, `column ${j}: ${v} vs one thread ${serial[j]}`));
    for (let round = 0; round < 3; round++) {
      native.setNumThreads(1);
      native.setNumThreads(Math.max(2, threads));
      for (let i = 0; i < 2000; i++) assert.deepEqual(product(x, w, K, N), expected);
    }
  } finally {
    native.setNumThreads(threads);
  }
});

test('jobs of different sizes back to back run every task exactly once (grouped-query attention backward)', () => {
  // Its backward is a job of 2 tasks (one per worker) then one of B * Hkv tasks that add up the
  // query heads' key/value gradients: a task run twice, or a late worker claiming a task of the
  // next job, changes the sums (or never returns).
  const [B, Hq, Hkv, T, D] = [2, 4, 2, 8, 4];
  const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + seed));
  const [q, k, v, gOut] = [fill(B * Hq * T * D, 1), fill(B * Hkv * T * D, 2), fill(B * Hkv * T * D, 3), fill(B * Hq * T * D, 4)];
  const [out, lse] = [new Float32Array(q.length), new Float32Array(B * Hq * T)];
  const sizes = [B, Hq, Hkv, T, T, D, 0.5, true, 0, 1, 1, 0, 0] as const;
  native.attentionForward(q, k, v, null, null, out, lse, ...sizes, T);
  const backward = () => {
    const [gq, gk, gv] = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)];
    native.attentionBackward(q, k, v, null, null, out, lse, gOut, gq, gk, gv, null, ...sizes);
    return [gq, gk, gv];
  };
  const expected = backward();
  for (let i = 0; i < 3000; i++) assert.deepEqual(backward(), expected);
});
