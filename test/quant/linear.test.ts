// linear4bit / linearInt8 against dequantise-then-matmul in float64: forward (few-row kernels that read
// the quantised data, the GEMM decoding W in its packing, rows that do not start a block), input and bias
// gradients, any leading shape, compute dtype rounding, and results that do not depend on the thread
// count. linearInt8's forward is LLM.int8's (activations quantised too): bit-equal to its TypeScript
// reference instead. Run again under PEFTJS_SIMD=avx2 and portable by kernels.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/index.js';
import { native } from '../../src/tensor/native/index.js';
import { bf16ToFloat, floatToBf16 } from '../../src/tensor/half.js';
import { quantizeState4 } from '../../src/quant/functional.js';
import { referenceDequantizeState4 as dequantizeState4, referenceLinearInt8 } from '../../src/quant/reference.js';
import { dequantizeInt8Native, quantizeInt8Native } from '../../src/quant/kernels.js';
import { linear4bit, linearInt8 } from '../../src/quant/ops.js';
import { linear } from '../../src/tensor/ops/matmul.js';
import type { QuantState4, QuantStateInt8 } from '../../src/quant/state.js';
import { gaussian } from './data.js';

/** Float64 y = x·Wᵀ + b and, per element, sum |x·w| (the scale of its rounding error). */
function reference(x: Float32Array, M: number, w: Float32Array, N: number, K: number, bias?: Float32Array) {
  const y = new Float64Array(M * N);
  const mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j]! : 0;
      let a = bias ? Math.abs(bias[j]!) : 0;
      for (let k = 0; k < K; k++) {
        const p = x[i * K + k]! * w[j * K + k]!;
        s += p;
        a += Math.abs(p);
      }
      y[i * N + j] = s;
      mag[i * N + j] = a;
    }
  return { y, mag };
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  mag: ArrayLike<number>,
  K: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, what);
  const u = 2 ** -24;
  for (let i = 0; i < expected.length; i++) {
    const tol = 4 * Math.sqrt(K + 1) * u * mag[i]! + 1e-30;
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

interface Layer {
  name: string;
  N: number;
  K: number;
  dequantised: Float32Array;
  forward: (x: Tensor, bias: Tensor | null) => Tensor;
  /** The exact forward, where it is not the float product with the dequantised weight. */
  exact?: (x: Float32Array, M: number, bias: Float32Array) => Float32Array;
}

function layers(N: number, K: number, seed: number): Layer[] {
  const w = gaussian(seed, N * K);
  const out: Layer[] = [];
  const four = (name: string, state: QuantState4) =>
    out.push({ name, N, K, dequantised: dequantizeState4(state), forward: (x, b) => linear4bit(x, state, b) });
  for (const blockSize of [32, 64]) {
    four(`nf4/${blockSize}`, quantizeState4(w, [N, K], { quantType: 'nf4', blockSize }));
  }
  four('nf4/64 double quant', quantizeState4(w, [N, K], { quantType: 'nf4', blockSize: 64, doubleQuant: true }));
  four('fp4/128', quantizeState4(w, [N, K], { quantType: 'fp4', blockSize: 128 }));
  const int8: QuantStateInt8 = quantizeInt8Native(w, N, K);
  out.push({
    name: 'int8',
    N,
    K,
    dequantised: dequantizeInt8Native(int8),
    forward: (x, b) => linearInt8(x, int8, b),
    exact: (x, M, b) => referenceLinearInt8(x, M, int8, b),
  });
  return out;
}

// [N, K]: rows on block boundaries (K a multiple of every block), and K = 100 / 45 (rows start mid-block,
// mid-byte for odd K), an N tail of the SIMD kernels' column groups. The AVX-512 few-row kernel reads
// 128-element spans and then 32-element groups: K = 448 has three spans and a tail of two groups (blocks
// of 32 and 64; fp4/128 is not on a block boundary there), K = 1024 eight spans, 16 double-quantised
// block scales per row (decoded 16 at a time) and blocks of 128 spanning whole spans.
const SHAPES: [number, number][] = [
  [37, 128],
  [13, 448],
  [6, 1024],
  [29, 100],
  [11, 45],
];
const ROWS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 70];

test('forward equals dequantise-then-matmul (int8: its reference) for 1-9, 16 and 70 rows', () => {
  SHAPES.forEach(([N, K], s) => {
    for (const layer of layers(N, K, s + 1)) {
      const bias = gaussian(50 + s, N);
      for (const M of ROWS) {
        const x = gaussian(M * 7 + s, M * K);
        const y = layer.forward(Tensor.fromArray(x, [M, K], 'float32'), Tensor.fromArray(bias, [N], 'float32'));
        assert.deepEqual(y.shape, [M, N]);
        if (layer.exact) {
          assert.deepEqual(y.data(), layer.exact(x, M, bias), `${layer.name} [${N}, ${K}] M=${M}`);
          continue;
        }
        const ref = reference(x, M, layer.dequantised, N, K, bias);
        assertClose(y.data() as Float32Array, ref.y, ref.mag, K, `${layer.name} [${N}, ${K}] M=${M}`);
      }
    }
  });
});

test('input and bias gradients equal gy·W and the column sums of gy', () => {
  SHAPES.forEach(([N, K], s) => {
    for (const layer of layers(N, K, s + 11)) {
      for (const M of [1, 3, 8, 9, 70]) {
        const x = Tensor.fromArray(gaussian(M + s, M * K), [M, K], 'float32').requiresGrad_();
        const bias = Tensor.fromArray(gaussian(3, N), [N], 'float32').requiresGrad_();
        const gy = gaussian(M * 3 + 1, M * N);
        layer.forward(x, bias).backward(Tensor.fromArray(gy, [M, N], 'float32'));
        // gx[i][k] = sum_j gy[i][j] W[j][k]: the reference with W transposed
        const wT = new Float32Array(K * N);
        for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) wT[k * N + j] = layer.dequantised[j * K + k]!;
        const ref = reference(gy, M, wT, K, N);
        assertClose(x.grad!.data() as Float32Array, ref.y, ref.mag, N, `${layer.name} [${N}, ${K}] M=${M} gx`);
        const gb = bias.grad!.data() as Float32Array;
        for (let j = 0; j < N; j++) {
          let sum = 0;
          for (let i = 0; i < M; i++) sum += gy[i * N + j]!;
          assert.ok(Math.abs(gb[j]! - sum) <= 1e-5 * (1 + Math.abs(sum)), `${layer.name} bias grad ${j}`);
        }
      }
    }
  });
});

// More than 8 rows go through the float32 GEMM with W decoded inside its B packing (gemm.h's
// BDecoder): the sums are those of the GEMM over the dequantised W, bit for bit. The shapes make the
// decoded tiles cross quantisation blocks and rows (K = 45, 32), take several tiles per panel (K = 70016)
// and the narrow-N path (N = 16), for M in the streamed and packed paths; with 300 rows and N, K of 600
// and 640 both products of 2 threads split op(B)'s columns between them, each thread decoding its own.
test('more than 8 rows: bit-equal to the float32 GEMM over the dequantised weight, forward and input gradient', () => {
  for (const [N, K, block, rows] of [
    [33000, 32, 32, [9, 70]],
    [16, 70016, 64, [9, 70]],
    [11, 45, 64, [9, 70]],
    [300, 1000, 128, [9, 70]],
    [600, 640, 64, [300]],
  ] as const) {
    const w = quantizeState4(gaussian(N, N * K), [N, K], { quantType: 'nf4', blockSize: block, doubleQuant: true });
    const dequantised = Tensor.fromArray(dequantizeState4(w), [N, K], 'float32');
    for (const M of rows) {
      const xq = Tensor.fromArray(gaussian(M, M * K), [M, K], 'float32').requiresGrad_();
      const xf = Tensor.fromArray(gaussian(M, M * K), [M, K], 'float32').requiresGrad_();
      const gy = Tensor.fromArray(gaussian(M + 1, M * N), [M, N], 'float32');
      const yq = linear4bit(xq, w);
      const yf = linear(xf, dequantised);
      assert.deepEqual(yq.data(), yf.data(), `[${N}, ${K}] M=${M} forward`);
      yq.backward(gy);
      yf.backward(gy);
      assert.deepEqual(xq.grad!.data(), xf.grad!.data(), `[${N}, ${K}] M=${M} input gradient`);
    }
  }
});

test('leading dims are kept, a frozen input gets no gradient, bad shapes are refused', () => {
  const [layer] = layers(12, 64, 5);
  const x = Tensor.fromArray(gaussian(1, 2 * 3 * 64), [2, 3, 64], 'float32');
  const y = layer!.forward(x, null);
  assert.deepEqual(y.shape, [2, 3, 12]);
  const flat = layer!.forward(x.reshape([6, 64]), null);
  assert.deepEqual(y.data(), flat.data());
  const w = quantizeState4(gaussian(2, 12 * 64), [12, 64], { quantType: 'nf4' });
  assert.throws(
    () => linear4bit(Tensor.fromArray(new Float32Array(63), [1, 63], 'float32'), w),
    /does not fit weight \[12, 64\]/,
  );
  assert.throws(() => linear4bit(x, w, Tensor.fromArray(new Float32Array(11), [11], 'float32')), /bias \[11\]/);
});

// With double quantisation the few-row kernels take a block's scale from a table of the current nested
// block's (256 blocks) scales, rebuilt when a row enters the next one. These shapes cross nested blocks
// in the middle of a row and of a 128-element span (blocks of 32 and 64, K = 320: two spans and a tail;
// blocks of 128, K = 384), and in a task's first row when the rows are split between threads.
test('few rows with double quantisation: nested blocks ending mid-row and mid-span', () => {
  const cases: [number, number, number][] = [
    [60, 320, 32],
    [60, 320, 64],
    [90, 384, 128],
  ];
  cases.forEach(([N, K, blockSize], s) => {
    const state = quantizeState4(gaussian(70 + s, N * K), [N, K], { quantType: 'nf4', blockSize, doubleQuant: true });
    const dequantised = dequantizeState4(state);
    for (const M of [1, 3, 8]) {
      const x = gaussian(80 + M, M * K);
      const y = linear4bit(Tensor.fromArray(x, [M, K], 'float32'), state).data() as Float32Array;
      const ref = reference(x, M, dequantised, N, K);
      assertClose(y, ref.y, ref.mag, K, `nf4/${blockSize} double quant [${N}, ${K}] M=${M}`);
    }
  });
});

test('computeDtype bfloat16 rounds the input and output to bf16', () => {
  const w = quantizeState4(gaussian(3, 24 * 64), [24, 64], { quantType: 'nf4' });
  const x = gaussian(4, 2 * 64);
  const y = linear4bit(Tensor.fromArray(x, [2, 64], 'float32'), w, null, 'bfloat16').data() as Float32Array;
  const bits = new Uint32Array(y.buffer, y.byteOffset, y.length);
  assert.ok(
    bits.every((b) => (b & 0xffff) === 0),
    'outputs are bf16 values',
  );
  const xBf16 = Float32Array.from(x, (v) => bf16ToFloat(floatToBf16(v)));
  const ref = reference(xBf16, 2, dequantizeState4(w), 24, 64);
  for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - ref.y[i]!) <= 2 ** -8 * Math.abs(ref.y[i]!) + 1e-6);
});

// With a bf16 compute dtype and K a multiple of 128, AVX2 CPUs and AVX-512 ones with AVX512_BF16 take a
// few-row kernel with the code values rounded to bf16 (native/src/avx2/quant_bf16_avx2.cc,
// native/src/avx512/quant_bf16_avx512.cc): per product at most 2^-9
// relative, as bitsandbytes' bf16 gemv_4bit (which rounds code * absmax to bf16), plus y's own rounding
// to bf16. Every row count, blocks of 32 / 64 / 128 (one span holding 4, 2 or a part of a block),
// double quantisation; elsewhere the float32 kernel, within the same bound.
test('computeDtype bfloat16, few rows: within bf16 rounding of the code values and of y', () => {
  const [N, K] = [21, 384];
  for (const [blockSize, doubleQuant] of [
    [32, false],
    [64, true],
    [128, false],
  ] as const) {
    const w = quantizeState4(gaussian(90 + blockSize, N * K), [N, K], { quantType: 'nf4', blockSize, doubleQuant });
    for (const M of [1, 2, 5, 8]) {
      const x = Float32Array.from(gaussian(95 + M, M * K), (v) => bf16ToFloat(floatToBf16(v)));
      const y = linear4bit(Tensor.fromArray(x, [M, K], 'float32'), w, null, 'bfloat16').data() as Float32Array;
      const ref = reference(x, M, dequantizeState4(w), N, K);
      for (let i = 0; i < y.length; i++) {
        const tol = 2 ** -9 * ref.mag[i]! + 2 ** -8 * Math.abs(ref.y[i]!);
        assert.ok(Math.abs(y[i]! - ref.y[i]!) <= tol, `block ${blockSize} M=${M} element ${i}: ${y[i]} vs ${ref.y[i]}`);
      }
    }
  }
});

// A served row's output must not depend on the rows beside it (a request's tokens equal those it gets
// alone): every few-row kernel sums each row in the same order whatever M. Raw float32 outputs (before
// the compute dtype's rounding, which could hide a difference), x exact in bf16 so that the bf16-code
// kernels take it too.
test('few-row products: each row of an M-row product equals that row computed alone', () => {
  const [N, K] = [37, 384];
  for (const [blockSize, doubleQuant] of [
    [32, false],
    [64, true],
    [128, true],
  ] as const) {
    const w = quantizeState4(gaussian(130 + blockSize, N * K), [N, K], { quantType: 'nf4', blockSize, doubleQuant });
    for (const bf16X of [false, true]) {
      for (let M = 2; M <= 8; M++) {
        const x = Float32Array.from(gaussian(140 + M, M * K), (v) => bf16ToFloat(floatToBf16(v)));
        const batch = new Float32Array(M * N);
        native.linear4bit(x, M, w, null, batch, bf16X);
        for (let i = 0; i < M; i++) {
          const alone = new Float32Array(N);
          native.linear4bit(x.subarray(i * K, (i + 1) * K), 1, w, null, alone, bf16X);
          assert.deepEqual(batch.subarray(i * N, (i + 1) * N), alone, `block ${blockSize} bf16 x ${bf16X} M=${M} row ${i}`);
        }
      }
    }
  }
});

// An input already in the compute dtype skips the rounding of x, and an output in it is cast once: the
// same values as the float32 input's path, whose output is rounded to the compute dtype.
test('bf16 / f16 input with the same computeDtype: the float32 path\'s values, cast', () => {
  const w = quantizeState4(gaussian(5, 24 * 128), [24, 128], { quantType: 'nf4', doubleQuant: true });
  for (const dtype of ['bfloat16', 'float16'] as const) {
    for (const M of [1, 9]) {
      const x = Tensor.fromArray(gaussian(6 + M, M * 128), [M, 128], 'float32').to(dtype);
      const y = linear4bit(x, w, null, dtype);
      assert.equal(y.dtype, dtype);
      const viaF32 = linear4bit(x.to('float32'), w, null, dtype).to(dtype);
      assert.deepEqual(y.data(), viaF32.data(), `${dtype} M=${M}`);
    }
  }
});

test('results do not depend on the thread count', () => {
  const threads = native.numThreads();
  const [N, K] = [300, 256];
  try {
    for (const layer of layers(N, K, 9)) {
      for (const M of [1, 5, 40]) {
        const x = Tensor.fromArray(gaussian(M, M * K), [M, K], 'float32');
        const gy = Tensor.fromArray(gaussian(M + 1, M * N), [M, N], 'float32');
        const run = () => {
          const xi = x.detach().requiresGrad_();
          const y = layer.forward(xi, null);
          y.backward(gy);
          return [y.data(), xi.grad!.data()];
        };
        native.setNumThreads(1);
        const one = run();
        native.setNumThreads(3);
        assert.deepEqual(run(), one, `${layer.name} M=${M}`);
      }
    }
  } finally {
    native.setNumThreads(threads);
  }
});
