// The native kernels of ggml's block types (native/src/ggml/) against the TypeScript reference
// (src/gguf/quant/reference-dequantize.ts): dequantised values bit-equal, partial blocks (column slabs),
// the linear layer for few rows (SIMD block kernels) and many rows (dequantised slabs through the GEMM);
// for Q4_0 / Q5_0 / Q8_0 / Q4_K the integer path, with x as its Q8_0 blocks, equal to a float64 product with
// the dequantised weight, its input gradient, the embedding lookup, and
// typed refusals of bad weights. In child processes the AVX2 and portable kernels run the same tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../src/tensor/index.js';
import { native } from '../../src/tensor/native/index.js';
import {
  GGML_BLOCK_TYPES,
  GgmlEmbedding,
  GgmlLinear,
  dequantizeGgml,
  dequantizeReference,
  ggmlTensor,
  quantizeGgml,
  type GgmlBlockType,
} from '../../src/gguf/quant/index.js';
import { gaussian } from '../quant/data.js';
import { INT8_TYPES, q8Activations } from './q8-activations.js';

const simdChild = process.env.PEFTJS_GGML_TEST_CHILD === '1';

function weightOf(type: GgmlBlockType, rows: number, cols: number, seed = 3) {
  const values = gaussian(seed, rows * cols);
  return ggmlTensor(type, [rows, cols], quantizeGgml(type, values));
}

/** y[i][j] = sum_k x[i][k] * W[j][k] in float64. */
function reference(x: Float32Array, M: number, W: Float32Array, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[i * K + k]! * W[j * K + k]!;
      y[i * N + j] = s;
    }
  return y;
}

function assertClose(actual: Float32Array, expected: Float64Array, what: string): void {
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= 1e-5 * scale + 1e-6,
      `${what} [${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

test('native dequantisation equals the TypeScript reference bit for bit, whole tensors and partial blocks', () => {
  for (const type of GGML_BLOCK_TYPES) {
    const w = weightOf(type, 5, 512);
    const ref = dequantizeReference(type, w.data, 5 * 512);
    assert.deepEqual(dequantizeGgml(type, w.data, 5 * 512), ref, type);
  }
});

test('linear over every type: few rows and many rows, forward and input gradient, bias', () => {
  const N = 40,
    K = 512;
  for (const type of GGML_BLOCK_TYPES) {
    const w = weightOf(type, N, K);
    const W = dequantizeReference(type, w.data, N * K);
    for (const M of [1, 3, 8, 9, 70]) {
      const x = gaussian(M + 11, M * K);
      const y = new Float32Array(M * N);
      native.ggmlLinear(x, M, w, null, y);
      // Q4_0 / Q5_0 / Q8_0 / Q4_K take llama.cpp's integer path: x as Q8_0 blocks.
      const xs = INT8_TYPES.includes(type) ? q8Activations(x) : x;
      assertClose(y, reference(xs, M, W, N, K), `${type} forward M=${M}`);
      const gy = gaussian(M + 13, M * N);
      const gx = new Float32Array(M * K);
      native.ggmlLinearBackward(gy, M, w, gx);
      // gx = gy·W = gy [M, N] times W [N, K]: the reference with Wᵀ as its weight
      const Wt = new Float32Array(K * N);
      for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) Wt[k * N + j] = W[j * K + k]!;
      assertClose(gx, reference(gy, M, Wt, K, N), `${type} backward M=${M}`);
    }
  }
  const w = weightOf('Q4_0', N, K);
  const bias = gaussian(5, N);
  const x = gaussian(6, 2 * K);
  const [plain, biased] = [new Float32Array(2 * N), new Float32Array(2 * N)];
  native.ggmlLinear(x, 2, w, null, plain);
  native.ggmlLinear(x, 2, w, bias, biased);
  for (let i = 0; i < 2 * N; i++) assert.equal(biased[i], Math.fround(plain[i]! + bias[i % N]!));
});

test('GgmlLinear is a frozen Linear with gradients to its input; GgmlEmbedding looks rows up', () => {
  const w = weightOf('Q6_K', 24, 256);
  const layer = new GgmlLinear(w);
  assert.equal(layer.weight.requiresGrad, false);
  assert.deepEqual([layer.inFeatures, layer.outFeatures], [256, 24]);
  const x = Tensor.fromArray(gaussian(9, 2 * 256), [2, 256], 'float32').requiresGrad_();
  const y = layer.forward(x);
  assert.deepEqual(y.shape, [2, 24]);
  y.sum().backward();
  const W = layer.dequantizedWeight().data<'float32'>();
  const gx = x.grad!.data<'float32'>();
  for (let k = 0; k < 256; k++) {
    let s = 0;
    for (let j = 0; j < 24; j++) s += W[j * 256 + k]!;
    assert.ok(Math.abs(gx[k]! - s) < 1e-4, `gx[${k}]`);
  }
  const table = weightOf('Q8_0', 10, 64);
  const emb = new GgmlEmbedding(table);
  const rows = emb.forward(Tensor.fromArray(new Int32Array([7, 0, 7]), [1, 3], 'int32'));
  assert.deepEqual(rows.shape, [1, 3, 64]);
  const all = dequantizeReference('Q8_0', table.data, 640);
  assert.deepEqual(rows.data<'float32'>().subarray(0, 64), all.subarray(7 * 64, 8 * 64));
  assert.deepEqual(rows.data<'float32'>().subarray(64, 128), all.subarray(0, 64));
  assert.throws(() => emb.forward(Tensor.fromArray(new Int32Array([10]), [1], 'int32')), RangeError);
});

test('bad weights are refused: unknown type, wrong byte count, rows not whole blocks', () => {
  const good = weightOf('Q4_0', 2, 32);
  const y = new Float32Array(2);
  assert.throws(
    () => native.ggmlLinear(new Float32Array(32), 1, { ...good, type: 'Q3_K' as GgmlBlockType }, null, y),
    RangeError,
  );
  assert.throws(
    () => native.ggmlLinear(new Float32Array(32), 1, { ...good, data: good.data.subarray(1) }, null, y),
    RangeError,
  );
  assert.throws(
    () => native.ggmlLinear(new Float32Array(32), 1, { ...good, shape: [4, 16] }, null, new Float32Array(4)),
    RangeError,
  );
  assert.throws(() => ggmlTensor('Q4_K', [2, 128], new Uint8Array(144)), /whole blocks/);
  assert.throws(() => ggmlTensor('Q3_K', [2, 256], new Uint8Array(0)), /not a block type/);
});

for (const simd of ['avx2', 'portable']) {
  test(`the same tests on the ${simd} kernels`, { skip: simdChild }, () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', fileURLToPath(import.meta.url)], {
      env: { ...process.env, PEFTJS_SIMD: simd, PEFTJS_GGML_TEST_CHILD: '1' },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });
}
