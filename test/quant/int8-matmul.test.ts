// linearInt8's forward is bitsandbytes' Linear8bitLt with threshold 0 (LLM.int8 without outliers):
// activations rounded to float16 and quantised row-wise, int8 × int8 summed exactly, dequantised with
// both row scales. Bit-equal to src/quant/reference.ts on every path (VNNI here, AVX2 and portable when
// kernels.test.ts reruns linear.test.ts): K tails of the SIMD loops, weight bytes of -128, rounding ties,
// a zero row, several weight panels, bf16 inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/index.js';
import { bf16ToFloat, floatToBf16 } from '../../src/tensor/half.js';
import { quantizeInt8Native } from '../../src/quant/kernels.js';
import { linearInt8 } from '../../src/quant/ops.js';
import { referenceLinearInt8 } from '../../src/quant/reference.js';
import type { QuantStateInt8 } from '../../src/quant/state.js';
import { gaussian } from './data.js';

test('a hand-computed product: round half to even, int32 sums, (acc * (sx * sw)) * 1/127²', () => {
  // x = [1, -0.5]: absmax 1, q = [127, round(-63.5) = -64]; W row [127, -64] with absmax 2
  const w: QuantStateInt8 = { shape: [1, 2], data: Int8Array.from([127, -64]), rowAbsmax: Float32Array.from([2]) };
  const y = linearInt8(Tensor.fromArray(Float32Array.from([1, -0.5]), [1, 2], 'float32'), w).data() as Float32Array;
  const acc = 127 * 127 + 64 * 64;
  assert.equal(y[0], Math.fround(Math.fround(acc * 2) * Math.fround(6.200124e-5)));
});

test('bit-equal to the reference: K tails, -128 weights, ties, a zero row, several panels', () => {
  for (const [N, K] of [
    [300, 1000],
    [70, 200],
    [9, 193],
    [5, 31],
  ] as const) {
    const data = Int8Array.from(gaussian(N + K, N * K), (v) => Math.max(-128, Math.min(127, Math.round(v * 60))));
    data[0] = -128;
    data[data.length - 1] = -128;
    const w: QuantStateInt8 = { shape: [N, K], data, rowAbsmax: Float32Array.from(gaussian(N, N), (v) => 0.5 + Math.abs(v)) };
    const bias = gaussian(K, N);
    for (const M of [1, 3, 8, 9, 70]) {
      const x = gaussian(M * K, M * K);
      // ties: with absmax 127 the scale is 1, so x = k + 0.5 lands halfway (in float16 up to 1024)
      x[0] = 127;
      for (let k = 1; k < Math.min(K, 9); k++) x[k] = k - 4.5;
      if (M > 2) x.fill(0, 2 * K, 3 * K);
      const y = linearInt8(Tensor.fromArray(x, [M, K], 'float32'), w, Tensor.fromArray(bias, [N], 'float32'));
      assert.deepEqual(y.data(), referenceLinearInt8(x, M, w, bias), `[${N}, ${K}] M=${M}`);
      if (M > 2) assert.deepEqual(Array.from((y.data() as Float32Array).subarray(2 * N, 3 * N)), Array.from(bias), 'zero row');
    }
  }
});

test('a bf16 input gives a bf16 output: the float32 result rounded', () => {
  const [N, K, M] = [40, 96, 4];
  const w = quantizeInt8Native(gaussian(1, N * K), N, K);
  const x = Float32Array.from(gaussian(2, M * K), (v) => bf16ToFloat(floatToBf16(v)));
  const y = linearInt8(Tensor.fromArray(x, [M, K], 'float32').to('bfloat16'), w);
  assert.equal(y.dtype, 'bfloat16');
  const expected = Array.from(referenceLinearInt8(x, M, w), (v) => bf16ToFloat(floatToBf16(v)));
  assert.deepEqual(Array.from(y.to('float32').data() as Float32Array), expected);
});
