// The native quantisers and dequantisers against the TypeScript reference of bitsandbytes' algorithm
// (src/quant/blockwise.ts, functional.ts): the same packed bytes, absmax, nested codes and int8 rows on
// random data of sizes that are not multiples of the block (blocks crossing rows, odd counts), on
// values at the code midpoints, zeros and -0, and bf16 sources; and (in child processes) the AVX2 and
// portable kernels, which also rerun linear.test.ts and int8-matmul.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../src/tensor/index.js';
import { native } from '../../src/tensor/native/index.js';
import { floatToBf16, bf16ToFloat } from '../../src/tensor/half.js';
import { DYNAMIC_CODE, FP4_CODE, NF4_CODE } from '../../src/quant/codes.js';
import { quantize4bitArray, quantize8bitArray } from '../../src/quant/blockwise.js';
import {
  referenceDequantizeInt8,
  referenceDequantizeState4,
  referenceLinearInt8,
  referenceQuantizeInt8,
  referenceQuantizeState4,
} from '../../src/quant/reference.js';
import { linearInt8 } from '../../src/quant/ops.js';
import {
  dequantize4bitNative,
  dequantizeInt8Native,
  quantize4bitNative,
  quantize8bitNative,
  quantizeInt8Native,
} from '../../src/quant/kernels.js';
import { gaussian } from './data.js';

const simdChild = process.env.PEFTJS_QUANT_TEST_CHILD === '1';
const f32 = Math.fround;

/** Random values with, mixed in, every code midpoint (scaled by the block absmax 2), its neighbours, zeros and -0. */
function withEdges(seed: number, n: number, code: Float32Array): Float32Array {
  const x = gaussian(seed, n);
  const sorted = [...code].sort((a, b) => a - b);
  const edges: number[] = [2, -0, 0];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const mid = f32(f32(sorted[i]! + sorted[i + 1]!) / 2);
    edges.push(2 * mid, f32(2 * mid * (1 + 2 ** -23)), f32(2 * mid * (1 - 2 ** -23)));
  }
  // every 64-element block starts with the edges (absmax 2 where they fit), then random values in [-2, 2)
  for (let b = 0; b + edges.length <= n; b += 64) x.set(edges.slice(0, Math.min(edges.length, 64)), b);
  return x.map((v) => Math.max(-2, Math.min(2, v)));
}

const SIZES: [number, number][] = [
  [7 * 45, 64], // blocks cross the rows of a [7, 45] weight; odd element count
  [3 * 100, 32],
  [16 * 128, 64],
  [4097, 4096],
  [5, 256], // less than one block
  [2 * 3 * 33, 128],
  [70, 64], // an all-zero partial block below
];

for (const [name, code] of [
  ['nf4', NF4_CODE],
  ['fp4', FP4_CODE],
] as const) {
  test(`${name}: native packed bytes and absmax equal the reference, on random values and at every midpoint`, () => {
    SIZES.forEach(([n, blockSize], i) => {
      const x = withEdges(i + 1, n, code);
      if (n === 70) x.fill(0, 64);
      const ref = quantize4bitArray(x, blockSize, code);
      const got = quantize4bitNative(x, blockSize, code);
      assert.deepEqual(got.packed, ref.packed, `packed, ${n} elements, block ${blockSize}`);
      assert.deepEqual(got.absmax.slice(0, -1), ref.absmax.slice(0, -1), `absmax, ${n} elements`);
      const last = ref.absmax[ref.absmax.length - 1]!;
      // bitsandbytes stores the clamped absmax of a partial last block (max(absmax, 1e-38))
      const partial = n % blockSize !== 0;
      assert.equal(got.absmax[got.absmax.length - 1], partial ? Math.max(last, f32(1e-38)) : last);
    });
  });
}

test('double quantisation: native nested codes and scales equal the reference; dequantised values too', () => {
  const x = gaussian(9, 70 * 64 + 13);
  for (const [blockSize, quantType] of [
    [64, 'nf4'],
    [32, 'fp4'],
  ] as const) {
    const state = referenceQuantizeState4(x, [x.length], { quantType, blockSize, doubleQuant: true });
    const nested = state.nested!;
    const centred = quantize4bitArray(x, blockSize, state.code).absmax.map((v) => v - nested.offset);
    const got = quantize8bitNative(centred, 256, DYNAMIC_CODE);
    const ref = quantize8bitArray(centred, 256, DYNAMIC_CODE);
    assert.deepEqual(got.codes, ref.codes);
    assert.deepEqual(got.absmax, ref.absmax);
    assert.deepEqual(got.codes, nested.codes);
    assert.deepEqual(dequantize4bitNative(state), referenceDequantizeState4(state));
    const plain = referenceQuantizeState4(x, [x.length], { quantType, blockSize });
    assert.deepEqual(dequantize4bitNative(plain), referenceDequantizeState4(plain));
  }
});

// As for int8 rows (below): a NaN makes its block's absmax NaN in the reference (Math.max, as torch.max
// in bitsandbytes' quantize_4bit); the native quantiser's std::max dropped it.
test('4-bit: a NaN makes its block absmax NaN, as the reference (full and partial blocks, nf4 and fp4)', () => {
  const x = gaussian(8, 64 * 3 + 20);
  x[5] = NaN; // block 0
  x[64 * 3 + 7] = NaN; // the partial last block
  for (const code of [NF4_CODE, FP4_CODE]) {
    const got = quantize4bitNative(x, 64, code);
    const ref = quantize4bitArray(x, 64, code);
    assert.ok(Number.isNaN(got.absmax[0]) && Number.isNaN(got.absmax[3]) && Number.isFinite(got.absmax[1]));
    assert.deepEqual(got.packed, ref.packed);
    assert.deepEqual([...got.absmax], [...ref.absmax]);
  }
});

test('bf16 and f16 sources quantise as their float32 values', () => {
  const x = gaussian(4, 301);
  const bits = Uint16Array.from(x, (v) => floatToBf16(v));
  const widened = Float32Array.from(bits, (b) => bf16ToFloat(b));
  assert.deepEqual(quantize4bitNative(bits, 64, NF4_CODE, 'bfloat16'), quantize4bitNative(widened, 64, NF4_CODE));
  const half = Tensor.fromArray(x, [301], 'float32').to('float16');
  const halfBits = new Uint16Array(half.data().buffer as ArrayBuffer, 0, 301);
  const halfWide = half.to('float32').data() as Float32Array;
  assert.deepEqual(quantizeInt8Native(halfBits, 7, 43, 'float16'), quantizeInt8Native(halfWide, 7, 43));
});

test('int8 rows: native data, row absmax and dequantised values equal the reference (ties, a zero row)', () => {
  const [rows, cols] = [9, 37];
  const x = gaussian(5, rows * cols);
  x.set([127, 0.5, 1.5, 2.5, -2.5, -0.5], 0); // row 0: absmax 127, scale exactly 1: ties to even
  x.fill(0, cols, 2 * cols); // row 1 all zeros
  const got = quantizeInt8Native(x, rows, cols);
  const ref = referenceQuantizeInt8(x, rows, cols);
  assert.deepEqual([...got.data.slice(0, 6)], [127, 0, 2, 2, -2, 0]);
  assert.deepEqual(got, ref);
  assert.deepEqual(dequantizeInt8Native(got), referenceDequantizeInt8(ref));
});

// bitsandbytes' int8_vectorwise_quant (default backend, the one the CPU runs) takes the row max with
// torch.max, which propagates NaN: the row's absmax is NaN, 127 / NaN makes every code NaN, cast to 0.
// The native quantisers used vmaxps / std::max, which drop a NaN operand (a finite absmax, the other
// elements quantised). Rows of 40 put the NaN in the SIMD body and in the scalar tail (AVX2 takes 8 at
// a time, AVX-512 16); the forward of the int8 layer then gives NaN rows, as there.
test('int8 rows: a NaN in a row makes its absmax NaN and its codes 0, as the reference (torch.max)', () => {
  const [rows, cols] = [4, 40];
  const x = gaussian(6, rows * cols);
  x[3] = NaN; // row 0, body
  x[cols + 39] = NaN; // row 1, tail
  x[2 * cols + 17] = NaN; // row 2, second SIMD step
  const got = quantizeInt8Native(x, rows, cols);
  const ref = referenceQuantizeInt8(x, rows, cols);
  for (let r = 0; r < 3; r++) {
    assert.ok(Number.isNaN(got.rowAbsmax[r]), `row ${r} absmax ${got.rowAbsmax[r]}`);
    assert.deepEqual([...got.data.subarray(r * cols, (r + 1) * cols)], new Array(cols).fill(0), `row ${r} codes`);
  }
  assert.ok(Number.isFinite(got.rowAbsmax[3]));
  assert.deepEqual(got.data, ref.data);
  assert.deepEqual([...got.rowAbsmax], [...ref.rowAbsmax]); // arrays: NaN equals NaN whatever its bits
  const w = quantizeInt8Native(gaussian(7, 3 * cols), 3, cols);
  const y = linearInt8(Tensor.fromArray(x, [rows, cols], 'float32'), w, null).data() as Float32Array;
  assert.deepEqual([...y], [...referenceLinearInt8(x, rows, w)]);
  assert.ok(y.subarray(0, 9).every(Number.isNaN) && y.subarray(9).every(Number.isFinite));
});

test('bad arguments are refused with errors that name them', () => {
  const x = new Float32Array(64);
  assert.throws(() => quantize4bitNative(x, 48, NF4_CODE), /power of two from 32 to 4096, got 48/);
  assert.throws(() => quantize4bitNative(x, 64, NF4_CODE.subarray(0, 15)), /code must hold 16 elements, got 15/);
  assert.throws(() => quantize4bitNative(x, 64, NF4_CODE, 'bfloat16'), /Uint16Array/);
  const state = referenceQuantizeState4(x, [64], { quantType: 'nf4' });
  assert.throws(
    () => dequantize4bitNative({ ...state, packed: new Uint8Array(31) }),
    /weight.packed must hold 32 elements, got 31/,
  );
  assert.throws(() => dequantize4bitNative({ ...state, absmax: null }), /exactly one of absmax/);
  assert.throws(() => dequantize4bitNative({ ...state, blockSize: 16 }), /blockSize must be a power of two/);
  assert.throws(() => dequantize4bitNative(state, new Float32Array(63)), /out must hold 64 elements/);
  assert.throws(() => native.quantizeInt8Rows(x, 0, 8, 9, new Int8Array(72), new Float32Array(8)), /src must hold 72/);
});

test('AVX2 and portable kernels pass these tests, linear.test.ts and int8-matmul.test.ts (child processes)', { skip: simdChild }, () => {
  const linear = fileURLToPath(new URL('./linear.test.ts', import.meta.url));
  const int8 = fileURLToPath(new URL('./int8-matmul.test.ts', import.meta.url));
  for (const level of ['avx2', 'portable']) {
    const env: NodeJS.ProcessEnv = { ...process.env, PEFTJS_SIMD: level, PEFTJS_QUANT_TEST_CHILD: '1' };
    delete env.NODE_TEST_CONTEXT; // a plain script: its own exit status, not the parent runner's protocol
    for (const file of [fileURLToPath(import.meta.url), linear, int8]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], { env, encoding: 'utf8' });
      assert.equal(run.status, 0, `${level} run of ${file} failed:\n${run.stdout}\n${run.stderr}`);
    }
  }
});

test('the child process runs the SIMD level it was given', { skip: !simdChild }, () => {
  assert.equal(native.simdLevel(), process.env.PEFTJS_SIMD);
});
