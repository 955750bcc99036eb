// The 4-bit and int8 formats: code books, bit-exactness with bitsandbytes' reference algorithm
// (bitsandbytes/backends/default/ops.py quantize_4bit / quantize_blockwise and functional.py
// quantize_4bit at 95f9af3, reproduced by hand below: bitsandbytes cannot run here), error
// bounds, and bytes per parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn, tensor, manualSeed } from '../../src/index.js';
import { NF4_CODE, FP4_CODE, DYNAMIC_CODE } from '../../src/quant/codes.js';
import { quantize4bit, dequantize4bit, quantizeInt8, dequantizeInt8, blockAbsmax, quantStateBytes, quantizeState4 } from '../../src/quant/functional.js';
import { referenceDequantizeState4, referenceQuantizeInt8, referenceQuantizeState4 } from '../../src/quant/reference.js';

const f32 = Math.fround;

/** The standard normal quantile (Acklam's rational approximation, refined by one Halley step). */
function probit(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 0.97575) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    return -probit(1 - p);
  }
  // erfc-based refinement
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfc with fractional error < 1.2e-7, enough to pin the NF4 values to 1e-6.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

test('NF4: the 16 values of the QLoRA paper, which are normal quantiles (create_normal_map)', () => {
  const paper = [-1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1];
  assert.deepEqual([...NF4_CODE], paper.map(f32));
  // create_normal_map(offset=0.9677083): 8 positive quantiles, 7 negative, zero; scaled to max 1.
  const offset = 0.9677083;
  const lin = (n: number) => Array.from({ length: n }, (_, i) => offset + ((0.5 - offset) * i) / (n - 1)).slice(0, -1);
  const values = [...lin(9).map(probit), 0, ...lin(8).map((p) => -probit(p))].sort((x, y) => x - y);
  const max = Math.max(...values);
  values.forEach((v, i) => assert.ok(Math.abs(v / max - NF4_CODE[i]!) < 2e-6, `NF4[${i}]: ${v / max} vs ${NF4_CODE[i]}`));
});

test('FP4 and the 8-bit dynamic code: bitsandbytes values', () => {
  assert.deepEqual([...FP4_CODE], [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => f32(v / 12)));
  assert.equal(DYNAMIC_CODE.length, 256);
  assert.equal(DYNAMIC_CODE[255], 1);
  assert.equal(DYNAMIC_CODE[127], 0);
  assert.ok(DYNAMIC_CODE.every((v, i) => i === 0 || v > DYNAMIC_CODE[i - 1]!), 'sorted, distinct');
  // The largest exponent's first mean: linspace(0.1, 1, 65) in float32, then (b0 + b1) / 2;
  // the smallest magnitude: 1e-6 * 0.55.
  const b0 = f32(0.1);
  const b1 = f32(b0 + f32((1 - b0) / 64));
  assert.equal(DYNAMIC_CODE[128 + 63], f32(f32(b0 + b1) / 2));
  assert.ok(Math.abs(DYNAMIC_CODE[128]! - 5.5e-7) < 1e-12);
});

/** The float32 midpoint between NF4 codes i and i + 1 (where bitsandbytes' bucketize switches). */
const mid = (i: number) => f32(f32(NF4_CODE[i]! + NF4_CODE[i + 1]!) / 2);
const nextUp = (v: number) => {
  const b = new Float32Array([v]);
  new Int32Array(b.buffer)[0]! += v >= 0 ? 1 : -1;
  return b[0]!;
};

test('NF4 bit-exact by hand: ties take the lower code, -0, an all-zero block, the last partial block, odd length', () => {
  const x = new Float32Array(133); // two full blocks of 64 and a partial one of 5; odd, so padded
  x.set([2, -2, 2 * mid(7), nextUp(2 * mid(7)), -0, 2 * mid(14), 2 * mid(0)], 0);
  x[70] = -0; // block 1 is all zeros
  x.set([0.25, -1, 0.5, 1, 0.1], 128);
  const q = quantize4bit(tensor(x, [133]), { quantType: 'nf4', blockSize: 64 });
  assert.deepEqual(q.weight.shape, [67, 1]);
  assert.deepEqual(q.absmax.toFlatArray(), [2, 0, 1]);
  const bytes = q.weight.toFlatArray();
  // Block 0: 2 → 15, -2 → 0, on the 7|8 midpoint → 7, just above → 8, -0 → 7, on 14|15 → 14, on 0|1 (negative) → 0.
  assert.deepEqual(bytes.slice(0, 4), [0xf0, 0x78, 0x7e, 0x07]);
  assert.ok(bytes.slice(4, 64).every((b) => b === 0x77), 'zeros (and the all-zero block) take code 7');
  // Block 2: 0.25 → 10, -1 → 0, 0.5 → 12 (below the 12|13 midpoint 0.5017), 1 → 15, 0.1 → 8, padding 0 → 7.
  assert.deepEqual(bytes.slice(64), [0xa0, 0xcf, 0x87]);
  const back = dequantize4bit(q).toFlatArray();
  assert.equal(back[0], 2);
  assert.equal(back[2], 0);
  assert.equal(back[3], f32(NF4_CODE[8]! * 2));
  assert.equal(back[130], f32(NF4_CODE[12]!));
  // The TypeScript reference (the native kernels' oracle) gives the same bytes.
  assert.deepEqual(referenceQuantizeState4(x, [133], { quantType: 'nf4', blockSize: 64 }).packed, q.state.packed);
  assert.deepEqual(referenceDequantizeState4(q.state), Float32Array.from(back));
});

test('FP4 bit-exact by hand: bit-pattern order, small positives take the -0 code as bucketize over the stably sorted code does', () => {
  const q = quantize4bit(tensor([1, 0.002, 0, -1, 0.6, -0.004, 0.3], [7]), { quantType: 'fp4', blockSize: 64 });
  const nibbles = q.weight.toFlatArray().flatMap((b) => [b >> 4, b & 15]);
  // 1 → 3 (12/12), 0.002 → 8 (-0), 0 → 0, -1 → 11, 0.6 → 2 (8/12), -0.004 → 9 (-0.0625/12), 0.3 → 4 (4/12), pad → 0.
  assert.deepEqual(nibbles, [3, 8, 0, 11, 2, 9, 4, 0]);
});

test('the last partial block is scaled by division, full blocks by the reciprocal (as the reference)', () => {
  // Find a value whose x * (1/3) and x / 3 round differently in float32 and straddle an NF4 midpoint.
  const inv = f32(1 / 3);
  let found: number | null = null;
  for (let i = 0; i < 15 && found === null; i++) {
    let v = f32(mid(i) * 3);
    for (let k = 0; k < 64 && found === null; k++, v = nextUp(v)) {
      const byDivision = f32(v / 3) > mid(i);
      const byReciprocal = f32(v * inv) > mid(i);
      if (byDivision !== byReciprocal && Math.abs(v) < 3) found = v;
    }
  }
  assert.ok(found !== null, 'a value that tells the two apart exists');
  const values = new Float32Array(70).fill(0);
  values[0] = 3;
  values[1] = found;
  values[64] = 3;
  values[65] = found;
  const q = quantizeState4(values, [70], { quantType: 'nf4', blockSize: 64 });
  const code = (i: number) => (i & 1 ? q.packed[i >> 1]! & 15 : q.packed[i >> 1]! >> 4);
  const nearest = (s: number) => NF4_CODE.reduce((best, c, j) => (c >= s ? best : s > mid(j) ? j + 1 : best), 0);
  assert.equal(code(1), nearest(f32(found * inv)), 'full block: reciprocal');
  assert.equal(code(65), nearest(f32(found / 3)), 'partial block: division');
  assert.notEqual(code(1), code(65));
});

test('double quantisation: absmax codes in blocks of 256 with the dynamic code, the mean as offset', () => {
  manualSeed(3);
  const w = randn([40, 1000]); // 625 blocks of 64: three nested blocks, the last partial
  const q = quantize4bit(w, { quantType: 'nf4', blockSize: 64, doubleQuant: true });
  assert.deepEqual(referenceQuantizeState4(w.data<'float32'>(), w.shape, { quantType: 'nf4', blockSize: 64, doubleQuant: true }), q.state);
  assert.equal(q.absmax.dtype, 'uint8');
  assert.equal(q.absmax.size, 625);
  assert.equal(q.nestedAbsmax!.size, 3);
  const plain = quantizeState4(w.data<'float32'>(), w.shape, { quantType: 'nf4', blockSize: 64 });
  const exact = plain.absmax!;
  const offset = f32(exact.reduce((s, a) => s + a, 0) / exact.length);
  assert.equal(q.offset, offset);
  // Same 4-bit codes; absmax within half a step of the dynamic code (<= 5% relative near 1).
  assert.deepEqual(q.state.packed, plain.packed);
  const approx = blockAbsmax(q.state);
  const scale = Math.max(...q.nestedAbsmax!.toFlatArray());
  approx.forEach((a, i) => assert.ok(Math.abs(a - exact[i]!) <= 0.0071 * scale + 1e-6, `block ${i}: ${a} vs ${exact[i]}`));
  // A nested code of the largest centred absmax is the top of the dynamic code (1.0).
  const centred = [...exact].map((a) => f32(a - offset));
  const top = centred.slice(0, 256).reduce((m, v, i) => (Math.abs(v) > Math.abs(centred[m]!) ? i : m), 0);
  assert.equal(q.state.nested!.codes[top], centred[top]! > 0 ? 255 : 0);
});

test('quantise → dequantise stays within half the widest gap of the code times the block absmax', () => {
  manualSeed(4);
  const w = randn([33, 77]).mul(0.2); // 2541 values: blocks cross rows, the last is partial
  for (const quantType of ['nf4', 'fp4'] as const) {
    const code = quantType === 'nf4' ? NF4_CODE : FP4_CODE;
    const sorted = [...code].sort((a, b) => a - b);
    const halfGap = Math.max(...sorted.slice(1).map((v, i) => (v - sorted[i]!) / 2));
    for (const blockSize of [32, 64, 256]) {
      const q = quantize4bit(w, { quantType, blockSize });
      const back = dequantize4bit(q).toFlatArray();
      const absmax = q.absmax.toFlatArray();
      w.toFlatArray().forEach((v, i) => {
        const bound = halfGap * absmax[Math.floor(i / blockSize)]! * (1 + 1e-6);
        assert.ok(Math.abs(v - back[i]!) <= bound, `${quantType}/${blockSize} [${i}]: ${v} → ${back[i]} (bound ${bound})`);
      });
    }
  }
});

test('bf16 input is widened to float32 first, as bitsandbytes does', () => {
  manualSeed(5);
  const w = randn([8, 64]);
  const bf = w.to('bfloat16');
  const a = quantize4bit(bf, { quantType: 'nf4' });
  const b = quantize4bit(bf.to('float32'), { quantType: 'nf4' });
  assert.deepEqual(a.weight.toFlatArray(), b.weight.toFlatArray());
  assert.equal(dequantize4bit(a, 'bfloat16').dtype, 'bfloat16');
});

test('bytes per parameter: 4.127 bits (~0.516 bytes) with double quantisation at block 64, 4.5 bits without', () => {
  const n = 1024 * 1024;
  const values = new Float32Array(n).map((_, i) => Math.sin(i));
  const dq = quantizeState4(values, [1024, 1024], { quantType: 'nf4', blockSize: 64, doubleQuant: true });
  // n/2 packed + n/64 codes + 4 bytes per 256 codes + the offset; code books (16 + 256 float32) are per layer.
  const expectedDq = n / 2 + n / 64 + (n / 64 / 256) * 4 + 4 + 16 * 4 + 256 * 4;
  assert.equal(quantStateBytes(dq), expectedDq);
  assert.ok(Math.abs(quantStateBytes(dq) / n - 0.5159) < 0.0015, `${quantStateBytes(dq) / n} bytes per parameter`);
  const plain = quantizeState4(values, [1024, 1024], { quantType: 'nf4', blockSize: 64 });
  assert.equal(quantStateBytes(plain), n / 2 + (n / 64) * 4 + 16 * 4);
});

test('int8: row-wise absmax of the float16 weight, round half to even, dequantised as (q * s) * (1/127)', () => {
  const w = tensor([[1, -0.5, 0.25, 0], [0, 0, 0, 0], [127, 63.5, -64.5, 0.5]], [3, 4]);
  const s = quantizeInt8(w);
  assert.deepEqual([...s.rowAbsmax], [1, 0, 127]);
  // 0.5 * 127 = 63.5 → 64 (even); 0.25 * 127 = 31.75 → 32; 63.5 → 64 (even), -64.5 → -64 (even), 0.5 → 0 (even).
  assert.deepEqual([...s.data], [127, -64, 32, 0, 0, 0, 0, 0, 127, 64, -64, 0]);
  assert.deepEqual(referenceQuantizeInt8(w.data<'float32'>(), 3, 4), s);
  const back = dequantizeInt8(s).toFlatArray();
  assert.equal(back[0], f32(f32(127 * 1) * f32(7.874015718698502e-3)));
  assert.ok(Math.abs(back[8]! - 127) < 1e-4);
  // The weight is cast to float16 first (Int8Params._quantize): 0.49999921 becomes 0.5, 63.5 rounds to 64
  // (in float32 it would be 63.4999 -> 63).
  assert.deepEqual([...quantizeInt8(tensor([[1, 0.49999921]], [1, 2])).data], [127, 64]);
});

test('bad options are refused with the accepted values named', () => {
  assert.throws(() => quantize4bit(randn([4, 4]), { blockSize: 48 }), /block size must be one of 32, 64/);
  assert.throws(() => quantize4bit(randn([4, 4]), { quantType: 'int4' as never }), /'nf4' or 'fp4'/);
  assert.throws(() => quantizeInt8(randn([4])), /2-d weight/);
  assert.throws(() => quantize4bit(tensor([1, 2], [2], 'int32')), /floating-point/);
});
