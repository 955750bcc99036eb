// The native quantisers against plain references of bitsandbytes' algorithms: NF4 / FP4 packed bytes
// and absmax, double quantisation's nested codes, int8 rows, and dequantisation, on sizes that are not
// multiples of the block (blocks crossing rows, odd element counts), bf16 sources, the decision
// trees' thresholds, and (in child processes) the AVX2 and portable kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/tensor/native/index.js';
import { floatToBf16, bf16ToFloat } from '../../src/tensor/half.js';
import {
  FP4_CODE,
  NF4_CODE,
  dequantize4bitData,
  dequantizeInt8Data,
  dynamicMap,
  quantize4bitData,
  quantizeInt8Data,
} from '../../src/quant/kernels.js';
import { dequantize4Ref, gaussian, quantize4Ref, quantize8Ref, quantizeInt8Ref, scalesRef } from './reference.js';

const simdChild = process.env.PEFTJS_QUANT_TEST_CHILD === '1';

test("NF4 is the QLoRA paper's 16 values and FP4 bitsandbytes' e2m1 code over 12", () => {
  assert.equal(NF4_CODE.length, 16);
  assert.equal(NF4_CODE[0], -1);
  assert.equal(NF4_CODE[7], 0);
  assert.equal(NF4_CODE[15], 1);
  assert.equal(NF4_CODE[8], Math.fround(0.07958029955625534));
  for (let i = 1; i < 16; i++) assert.ok(NF4_CODE[i]! > NF4_CODE[i - 1]!);
  assert.deepEqual(
    [...FP4_CODE.slice(0, 8)].map((v) => Math.round(v * 12 * 16) / 16),
    [0, 0.0625, 8, 12, 4, 6, 2, 3],
  );
  assert.ok(Object.is(FP4_CODE[8], -0));
});

test('the dynamic 8-bit code: 256 sorted values from -0.99297 to 1 with 0 in the middle', () => {
  const code = dynamicMap();
  assert.equal(code.length, 256);
  assert.equal(code[0], Math.fround(-0.99296875));
  assert.equal(code[127], 0);
  assert.equal(code[255], 1);
  for (let i = 1; i < 256; i++) assert.ok(code[i]! >= code[i - 1]!);
});

const SHAPES: [number[], number][] = [
  [[7, 45], 64], // blocks cross rows, odd element count
  [[3, 100], 32],
  [[16, 128], 64],
  [[1, 4097], 4096],
  [[5], 256], // less than one block
  [[2, 3, 33], 128], // 3-D
];

for (const quantType of ['nf4', 'fp4'] as const) {
  test(`quantize4bit ${quantType}: packed bytes and absmax equal the reference, dequantize too`, () => {
    const code = quantType === 'nf4' ? NF4_CODE : FP4_CODE;
    SHAPES.forEach(([shape, blockSize], i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = gaussian(i + 1, n);
      const state = quantize4bitData(x, 'float32', shape, { quantType, blockSize });
      const ref = quantize4Ref(x, blockSize, code, quantType === 'fp4');
      assert.deepEqual(state.absmax, ref.absmax, `absmax ${shape}`);
      assert.deepEqual(state.packed, ref.packed, `packed ${shape}`);
      assert.deepEqual(state.code, code);
      const back = dequantize4bitData(state);
      assert.deepEqual(back, dequantize4Ref(ref.packed, n, blockSize, code, ref.absmax), `dequantize ${shape}`);
      // the format's bound: within half the widest gap between code values, times the block absmax
      for (let e = 0; e < n; e++)
        assert.ok(Math.abs(back[e]! - x[e]!) <= ref.absmax[Math.floor(e / blockSize)]! * 0.17);
    });
  });
}

test('quantize4bit with double quantisation: nested codes, scales and offset as bitsandbytes chains them', () => {
  const x = gaussian(9, 70 * 64 + 13); // 71 blocks of 64 (the last partial): a nested partial block of 256
  for (const blockSize of [64, 32]) {
    const state = quantize4bitData(x, 'float32', [x.length], { quantType: 'nf4', blockSize, doubleQuant: true });
    assert.equal(state.absmax, null);
    const plain = quantize4Ref(x, blockSize, NF4_CODE, false);
    assert.deepEqual(state.packed, plain.packed, 'the 4-bit codes do not depend on double quantisation');
    const nested = state.nested!;
    let sum = 0;
    for (const v of plain.absmax) sum += v;
    assert.equal(nested.offset, Math.fround(sum / plain.absmax.length));
    assert.equal(nested.blockSize, 256);
    const centred = plain.absmax.map((v) => v - nested.offset);
    const ref = quantize8Ref(centred, 256, dynamicMap());
    assert.deepEqual(nested.codes, ref.out);
    assert.deepEqual(nested.absmax, ref.absmax);
    const back = dequantize4bitData(state);
    assert.deepEqual(back, dequantize4Ref(state.packed, x.length, blockSize, NF4_CODE, scalesRef(state)));
  }
});

test("quantize4bit: values on the decision thresholds go to the lower code, as in bitsandbytes' CUDA trees", () => {
  // dQuantizeNF4's constants as float32 bits, as C++ and CUDA compilers round the decimal literals: not
  // Math.fround of the float64, which rounds twice (0.8614784181118011 and -0.8480964004993439 sit on
  // float32 midpoints in float64). The block absmax is 1, so the values are not rescaled.
  const thresholds = [...new Float32Array(new Uint32Array([0x3f5c89d9, 0x3d22faff, 0xbd3a7871, 0xbf591cd9]).buffer)];
  const x = new Float32Array([1, ...thresholds.flatMap((t) => [t, t + Math.abs(t) * 2 ** -23])]);
  const state = quantize4bitData(x, 'float32', [x.length], { quantType: 'nf4', blockSize: 32 });
  const nibbles = [...x].map((_, e) => (e % 2 === 0 ? state.packed[e >> 1]! >> 4 : state.packed[e >> 1]! & 15));
  assert.deepEqual(nibbles, [15, 14, 15, 7, 8, 6, 7, 0, 1]);
  // FP4: a tiny negative value keeps its sign bit (index 8, "-0"), zero is index 0.
  const y = new Float32Array([1, -1e-4, 0, -0.5]);
  const fp4 = quantize4bitData(y, 'float32', [4], { quantType: 'fp4', blockSize: 32 });
  assert.deepEqual([...fp4.packed], [(3 << 4) | 8, (0 << 4) | 13]);
});

test('quantize4bit: an all-zero block dequantises to zeros; bf16 sources quantise as their float32 values', () => {
  const zeros = quantize4bitData(new Float32Array(70), 'float32', [70], { quantType: 'nf4', blockSize: 64 });
  assert.ok(dequantize4bitData(zeros).every((v) => v === 0));
  const x = gaussian(4, 301);
  const bits = Uint16Array.from(x, (v) => floatToBf16(v));
  const rounded = Float32Array.from(bits, (b) => bf16ToFloat(b));
  const fromBf16 = quantize4bitData(bits, 'bfloat16', [301], { quantType: 'nf4', blockSize: 64 });
  const fromF32 = quantize4bitData(rounded, 'float32', [301], { quantType: 'nf4', blockSize: 64 });
  assert.deepEqual(fromBf16.packed, fromF32.packed);
  assert.deepEqual(fromBf16.absmax, fromF32.absmax);
});

test('int8 rows: round(x * 127 / absmax) half to even, dequantised as data * absmax * (1/127)', () => {
  const rows = 9;
  const cols = 37;
  const x = gaussian(5, rows * cols);
  x.set([127, 0.5, 1.5, 2.5, -2.5, -0.5], 0); // row 0: absmax 127, scale exactly 1: ties
  const state = quantizeInt8Data(x, 'float32', [rows, cols]);
  const ref = quantizeInt8Ref(x, rows, cols);
  assert.deepEqual([...state.data.slice(0, 6)], [127, 0, 2, 2, -2, 0]);
  assert.deepEqual(state.data, ref.data);
  assert.deepEqual(state.rowAbsmax, ref.rowAbsmax);
  const back = dequantizeInt8Data(state);
  const inv = Math.fround(7.874015718698502e-3);
  for (let e = 0; e < x.length; e++) {
    assert.equal(back[e], Math.fround(Math.fround(ref.data[e]! * ref.rowAbsmax[Math.floor(e / cols)]!) * inv));
  }
});

test('bad arguments are refused with errors that name them', () => {
  const x = new Float32Array(64);
  assert.throws(
    () => quantize4bitData(x, 'float32', [64], { quantType: 'nf4', blockSize: 48 }),
    /power of two from 32 to 4096, got 48/,
  );
  assert.throws(
    () => quantize4bitData(x, 'float32', [65], { quantType: 'nf4' }),
    /65 elements but the source holds 64/,
  );
  assert.throws(() => quantize4bitData(x, 'float32', [64], { quantType: 'int4' as 'nf4' }), /'nf4' or 'fp4'/);
  const state = quantize4bitData(x, 'float32', [64], { quantType: 'nf4' });
  assert.throws(
    () => dequantize4bitData({ ...state, packed: new Uint8Array(31) }),
    /weight.packed must hold 32 elements, got 31/,
  );
  assert.throws(() => dequantize4bitData({ ...state, absmax: null }), /exactly one of absmax/);
  assert.throws(() => native.dequantize4bit(state, new Float32Array(63)), /out must hold 64 elements/);
  assert.throws(() => quantizeInt8Data(x, 'float32', [64]), /must be 2-D/);
});

test('AVX2 and portable kernels give the same bytes and values (child processes)', { skip: simdChild }, () => {
  const file = fileURLToPath(new URL('./linear.test.ts', import.meta.url));
  for (const level of ['avx2', 'portable']) {
    const env: NodeJS.ProcessEnv = { ...process.env, PEFTJS_SIMD: level, PEFTJS_QUANT_TEST_CHILD: '1' };
    delete env.NODE_TEST_CONTEXT;
    for (const f of [fileURLToPath(import.meta.url), file]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', f], { env, encoding: 'utf8' });
      assert.equal(run.status, 0, `${level} run of ${f} failed:\n${run.stdout}\n${run.stderr}`);
    }
  }
});

test('the child process runs the SIMD level it was given', { skip: !simdChild }, () => {
  assert.equal(native.simdLevel(), process.env.PEFTJS_SIMD);
});
