// The integer path of ggml block types (native/src/ggml/int8_dot.h: x as Q8_0 blocks, int8 weight
// blocks, integer dot products; many rows through packed panels, few rows through the direct kernels;
// Q4_0, Q5_0, Q8_0 and Q4_K):
// the AVX-512 VNNI, AVX2 and portable (reference) kernels give the same floats bit for bit, over shapes that leave partial tiles and panels, weights at the ends of their
// ranges (Q8_0's -128; Q4_0's, Q5_0's and Q4_K's largest codes against x at +127, which the AVX2
// kernel's 16-bit sums must hold) and activation blocks of zeros; and they compute the float64 product of the
// dequantised weight and x as its Q8_0 blocks (the arithmetic, not only agreement between kernels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/tensor/native/index.js';
import { dequantizeReference, ggmlTensor, quantizeGgml } from '../../src/gguf/quant/index.js';
import { gaussian } from '../quant/data.js';
import { INT8_TYPES, q8Activations } from './q8-activations.js';

const SHAPES = [
  [9, 37, 224], // M: one 8-row tile and 1 row; N: two panels and 5 rows; K: 7 blocks
  [70, 16, 512],
  [13, 3, 32],
  [1, 37, 224], // few rows: the direct kernels
  [3, 20, 96],
  [8, 5, 512],
] as const;

/** Q8_0 blocks of random int8 values (-128 and 127 included) with random positive scales. */
function extremeQ8(rows: number, cols: number): Uint8Array {
  const data = new Uint8Array(((rows * cols) / 32) * 34);
  let s = 7;
  for (let b = 0; b < data.length; b += 34) {
    data[b] = 0x00;
    data[b + 1] = 0x20 + (b % 5); // f16 scales near 0.008
    for (let t = 0; t < 32; t++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[b + 2 + t] = t === 0 ? 0x80 : t === 1 ? 0x7f : s >>> 24;
    }
  }
  return data;
}

/** Q4_K blocks whose every nibble is 15 (the largest code), with small scales and mins. */
function extremeQ4K(rows: number, cols: number): Uint8Array {
  const data = new Uint8Array(((rows * cols) / 256) * 144);
  for (let b = 0; b < data.length; b += 144) {
    data.set([0x00, 0x20, 0x00, 0x1c], b); // d, dmin (f16 near 0.008 and 0.004)
    data.fill(0x35, b + 4, b + 16); // the 6-bit sub-block scales and mins
    data.fill(0xff, b + 16, b + 144);
  }
  return data;
}

/** Every case's outputs, as base64 of the float32 bytes. */
function outputs(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [M, N, K] of SHAPES) {
    const x = gaussian(M + K, M * K);
    x.fill(0, 0, 32); // a block of zeros: scale 0
    for (const type of ['Q4_0', 'Q5_0', 'Q8_0'] as const) {
      const data = type === 'Q8_0' && K === 224 ? extremeQ8(N, K) : quantizeGgml(type, gaussian(N + 3, N * K));
      const y = new Float32Array(M * N);
      native.ggmlLinear(x, M, ggmlTensor(type, [N, K], data), null, y);
      out[`${type} ${M}x${N}x${K}`] = Buffer.from(y.buffer).toString('base64');
    }
  }
  // Weights at the end of their range with the largest magnitude (Q4_0's -8, Q5_0's -16, Q4_K's 15) against
  // x at +127 in every block: the AVX2 panel kernel sums these products in 16 bits, here at their largest.
  for (const type of ['Q4_0', 'Q5_0', 'Q4_K'] as const) {
    const [M, N, K] = [9, 21, 512];
    const data = type === 'Q4_K' ? extremeQ4K(N, K) : quantizeGgml(type, new Float32Array(N * K).fill(-1));
    const y = new Float32Array(M * N);
    native.ggmlLinear(new Float32Array(M * K).fill(0.5), M, ggmlTensor(type, [N, K], data), null, y);
    out[`${type} extremes ${M}x${N}x${K}`] = Buffer.from(y.buffer).toString('base64');
  }
  // Non-finite activations: the quantiser's largest |x| passes over a NaN and the codes are the low
  // byte of the converted value (the reference's cast), in every kernel's copy of it.
  for (const M of [2, 9]) {
    const [N, K] = [5, 96];
    const x = gaussian(M + 11, M * K);
    x[30] = NaN; // in the last 8 of its block: a running maximum that took the NaN would keep it
    x[K + 40] = Infinity;
    x[K + 70] = -Infinity;
    const y = new Float32Array(M * N);
    native.ggmlLinear(x, M, ggmlTensor('Q8_0', [N, K], quantizeGgml('Q8_0', gaussian(N + 5, N * K))), null, y);
    out[`Q8_0 non-finite x ${M}x${N}x${K}`] = Buffer.from(y.buffer).toString('base64');
  }
  for (const M of [1, 3, 8, 9, 21]) {
    // Q4_K: 256-element blocks, a scale and a min per sub-block of 32.
    const [N, K] = [21, 512];
    const y = new Float32Array(M * N);
    native.ggmlLinear(
      gaussian(M, M * K),
      M,
      ggmlTensor('Q4_K', [N, K], quantizeGgml('Q4_K', gaussian(N, N * K))),
      null,
      y,
    );
    out[`Q4_K ${M}x${N}x${K}`] = Buffer.from(y.buffer).toString('base64');
  }
  return out;
}

if (process.env.PEFTJS_INT8_TEST_CHILD === '1') {
  console.log(JSON.stringify({ simd: native.simdLevel(), outputs: outputs() }));
} else {
  test('every SIMD level gives the same floats bit for bit', () => {
    const here = outputs();
    for (const simd of ['avx2', 'portable']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, PEFTJS_SIMD: simd, PEFTJS_INT8_TEST_CHILD: '1' },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      const child = JSON.parse(run.stdout) as { simd: string; outputs: Record<string, string> };
      assert.equal(child.simd, simd);
      for (const [name, y] of Object.entries(here))
        assert.equal(child.outputs[name], y, `${name}: ${native.simdLevel()} vs ${simd}`);
    }
  });

  for (const M of [9, 2])
    test(`the product is that of the dequantised weight and x as Q8_0 blocks (and differs from float x), M=${M}`, () => {
      const [N, K] = [37, 256];
      const x = gaussian(1, M * K);
      const xq = q8Activations(x);
      for (const type of INT8_TYPES) {
        const data = type === 'Q8_0' ? extremeQ8(N, K) : quantizeGgml(type, gaussian(2, N * K));
        const W = dequantizeReference(type, data, N * K);
        const y = new Float32Array(M * N);
        native.ggmlLinear(x, M, ggmlTensor(type, [N, K], data), null, y);
        let [errQ, errF, scale] = [0, 0, 0];
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let [sq, sf] = [0, 0];
            for (let k = 0; k < K; k++) {
              sq += xq[i * K + k]! * W[j * K + k]!;
              sf += x[i * K + k]! * W[j * K + k]!;
            }
            errQ = Math.max(errQ, Math.abs(y[i * N + j]! - sq));
            errF = Math.max(errF, Math.abs(y[i * N + j]! - sf));
            scale = Math.max(scale, Math.abs(sq));
          }
        assert.ok(errQ <= 1e-6 * scale, `${type}: |y - Q8_0 reference| ${errQ} (scale ${scale})`);
        // Activation quantisation moves the result (what llama.cpp's prompt processing does too), boundedly.
        assert.ok(errF > errQ && errF < 0.02 * scale, `${type}: |y - float reference| ${errF} (scale ${scale})`);
      }
    });
}
