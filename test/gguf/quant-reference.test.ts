// The TypeScript reference of ggml's block types (src/gguf/quant/): hand-built blocks decode to the
// values ggml-quants.c's dequantize_row_* gives, the quantisers write the layout those decoders read
// (round trips within each type's step), and bad sizes are refused with typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatToF16 } from '../../src/tensor/half.js';
import { ValueError } from '../../src/tensor/errors.js';
import {
  BLOCK_LAYOUT,
  GGML_BLOCK_TYPES,
  dequantizeGgml,
  ggmlByteSize,
  quantizeGgml,
  type GgmlBlockType,
} from '../../src/gguf/quant/index.js';
import { gaussian } from '../quant/data.js';

function half(v: number): [number, number] {
  const h = floatToF16(v);
  return [h & 0xff, h >> 8];
}

test('Q4_0 block: (nibble - 8) * d, low nibbles first', () => {
  const block = new Uint8Array(18);
  block.set(half(0.5), 0);
  for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
  const x = dequantizeGgml('Q4_0', block, 32);
  for (let j = 0; j < 16; j++) {
    assert.equal(x[j], (j - 8) * 0.5);
    assert.equal(x[16 + j], (15 - j - 8) * 0.5);
  }
});

test('Q4_1, Q5_0, Q5_1, Q8_0 blocks decode as ggml', () => {
  const q41 = new Uint8Array(20);
  q41.set(half(0.25), 0);
  q41.set(half(-1), 2);
  q41.fill(0x3c, 4); // low nibble 12, high 3
  const a = dequantizeGgml('Q4_1', q41, 32);
  assert.equal(a[0], 12 * 0.25 - 1);
  assert.equal(a[31], 3 * 0.25 - 1);

  const q50 = new Uint8Array(22);
  q50.set(half(2), 0);
  q50.set([0x01, 0x00, 0x01, 0x80], 2); // fifth bits of elements 0, 16 and 31
  q50.fill(0x21, 6); // low 1, high 2
  const b = dequantizeGgml('Q5_0', q50, 32);
  assert.equal(b[0], ((1 | 16) - 16) * 2);
  assert.equal(b[1], (1 - 16) * 2);
  assert.equal(b[16], ((2 | 16) - 16) * 2);
  assert.equal(b[17], (2 - 16) * 2);
  assert.equal(b[31], ((2 | 16) - 16) * 2);

  const q51 = new Uint8Array(24);
  q51.set(half(1), 0);
  q51.set(half(0.5), 2);
  q51.set([0xff, 0xff, 0xff, 0xff], 4);
  q51.fill(0xff, 8);
  const c = dequantizeGgml('Q5_1', q51, 32);
  assert.ok(c.every((v) => v === 31.5));

  const q80 = new Uint8Array(34);
  q80.set(half(0.125), 0);
  for (let j = 0; j < 32; j++) q80[2 + j] = (j * 8 - 128) & 0xff;
  const d = dequantizeGgml('Q8_0', q80, 32);
  for (let j = 0; j < 32; j++) assert.equal(d[j], (j * 8 - 128) * 0.125);
});

test('Q4_K block: 6-bit scales and mins of 8 sub-blocks, d * scale * q - dmin * min', () => {
  const blk = new Uint8Array(144);
  blk.set(half(0.5), 0);
  blk.set(half(0.25), 2);
  // sub-block j has scale j + 1 (j < 4: bytes 0-3) or 40 + j (j >= 4, split), min 2j (+ 32 for j >= 4)
  const scale = (j: number) => (j < 4 ? j + 1 : 40 + j);
  const min = (j: number) => (j < 4 ? 2 * j : 2 * j + 32);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      blk[4 + j] = scale(j);
      blk[8 + j] = min(j);
    } else {
      blk[8 + j] = (scale(j) & 15) | ((min(j) & 15) << 4);
      blk[4 + j - 4] |= (scale(j) >> 4) << 6;
      blk[4 + j] |= (min(j) >> 4) << 6;
    }
  }
  for (let i = 0; i < 128; i++) blk[16 + i] = (i % 16) | ((15 - (i % 16)) << 4);
  const x = dequantizeGgml('Q4_K', blk, 256);
  for (let e = 0; e < 256; e++) {
    const sub = e >> 5,
      l = e & 31,
      byte = 32 * (sub >> 1) + l;
    const q = sub & 1 ? 15 - (byte % 16) : byte % 16;
    assert.equal(x[e], 0.5 * scale(sub) * q - 0.25 * min(sub), `element ${e}`);
  }
});

test('Q6_K block: int8 scales of 16 sub-blocks, d * scale * (6-bit q - 32), d stored last', () => {
  const blk = new Uint8Array(210);
  blk.set(half(0.5), 208);
  for (let s = 0; s < 16; s++) blk[192 + s] = (s % 2 ? -(s + 1) : s + 1) & 0xff;
  const L = Array.from({ length: 256 }, (_, e) => (e * 7) % 64);
  for (let n = 0; n < 2; n++)
    for (let l = 0; l < 32; l++) {
      const [q1, q2, q3, q4] = [L[128 * n + l]!, L[128 * n + l + 32]!, L[128 * n + l + 64]!, L[128 * n + l + 96]!];
      blk[64 * n + l] = (q1 & 15) | ((q3 & 15) << 4);
      blk[64 * n + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
      blk[128 + 32 * n + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
    }
  const x = dequantizeGgml('Q6_K', blk, 256);
  for (let e = 0; e < 256; e++) {
    const s = e >> 4;
    assert.equal(x[e], 0.5 * (s % 2 ? -(s + 1) : s + 1) * (L[e]! - 32), `element ${e}`);
  }
});

// The largest error a round trip may leave, relative to the block's absmax: half a step of each type.
const STEP: Record<GgmlBlockType, number> = {
  Q4_0: 1 / 8,
  Q4_1: 1 / 15,
  Q5_0: 1 / 16,
  Q5_1: 1 / 31,
  Q8_0: 1 / 127,
  Q4_K: 2 / 15,
  Q5_K: 2 / 31,
  Q6_K: 1 / 28,
  Q8_K: 1 / 127,
};

test('every type round-trips random rows within its step, and quantising the result is stable', () => {
  for (const type of GGML_BLOCK_TYPES) {
    const { elements } = BLOCK_LAYOUT[type];
    const x = gaussian(7 + elements, 4 * 256);
    const bytes = quantizeGgml(type, x);
    assert.equal(bytes.length, ggmlByteSize(type, x.length));
    const back = dequantizeGgml(type, bytes, x.length);
    for (let b = 0; b < x.length; b += elements) {
      let amax = 0;
      for (let j = 0; j < elements; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
      for (let j = 0; j < elements; j++) {
        const err = Math.abs(back[b + j]! - x[b + j]!);
        assert.ok(err <= amax * STEP[type] * 1.01, `${type} element ${b + j}: ${x[b + j]} -> ${back[b + j]}`);
      }
    }
    if (type === 'Q8_0' || type === 'Q4_0') assert.deepEqual(quantizeGgml(type, back), bytes, `${type} is idempotent`);
  }
});

test('all-zero blocks quantise to zeros', () => {
  for (const type of GGML_BLOCK_TYPES) {
    const back = dequantizeGgml(type, quantizeGgml(type, new Float32Array(256)), 256);
    assert.ok(
      back.every((v) => v === 0),
      type,
    );
  }
});

test('sizes that are not whole blocks, wrong byte counts and non-finite values are refused', () => {
  assert.throws(() => quantizeGgml('Q4_K', new Float32Array(100)), ValueError);
  assert.throws(() => dequantizeGgml('Q8_0', new Uint8Array(33), 32), ValueError);
  assert.throws(() => quantizeGgml('Q8_0', new Float32Array(32).fill(NaN)), ValueError);
  assert.throws(() => ggmlByteSize('Q9_9' as GgmlBlockType, 32), ValueError);
});
