// The TypeScript reference dequantisers of ggml's block types: ports of ggml-quants.c's
// dequantize_row_q4_0 ... dequantize_row_q6_K (ggml-org/llama.cpp, ggml/src/ggml-quants.c), one
// function per type, bit for bit: every float operation is rounded to float32 (Math.fround) in C's
// order, as ggml-base computes it (built without -mfma, so no fused multiply-adds). The native kernels
// (native/src/ggml/) compute the same values; test/gguf/quant-kernels.test.ts holds them equal.
import { ValueError } from '../../tensor/errors.js';
import { f16ToFloat } from '../../tensor/half.js';
import { BLOCK_LAYOUT, QK_K, ggmlByteSize, type GgmlBlockType } from './blocks.js';

const f = Math.fround;

/** The little-endian f16 at byte `at` of `b`, as a float. */
export function halfAt(b: Uint8Array, at: number): number {
  return f16ToFloat(b[at]! | (b[at + 1]! << 8));
}

// Each writes the block's elements to out[o ...]; `b` is the block's first byte in `q`.
type BlockDecoder = (q: Uint8Array, b: number, out: Float32Array, o: number) => void;

// dequantize_row_q4_0: x = (nibble - 8) * d; low nibbles are elements 0-15, high nibbles 16-31.
function q4_0(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  for (let j = 0; j < 16; j++) {
    const byte = q[b + 2 + j]!;
    out[o + j] = f(((byte & 15) - 8) * d);
    out[o + j + 16] = f(((byte >> 4) - 8) * d);
  }
}

// dequantize_row_q4_1: x = nibble * d + m.
function q4_1(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  const m = halfAt(q, b + 2);
  for (let j = 0; j < 16; j++) {
    const byte = q[b + 4 + j]!;
    out[o + j] = f(f((byte & 15) * d) + m);
    out[o + j + 16] = f(f((byte >> 4) * d) + m);
  }
}

/** The 32 fifth bits of a Q5_0 / Q5_1 block (qh, little-endian uint32 at byte `at`). */
function highBits(q: Uint8Array, at: number): number {
  return (q[at]! | (q[at + 1]! << 8) | (q[at + 2]! << 16) | (q[at + 3]! << 24)) >>> 0;
}

// dequantize_row_q5_0: x = ((nibble | fifth bit << 4) - 16) * d.
function q5_0(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  const qh = highBits(q, b + 2);
  for (let j = 0; j < 16; j++) {
    const byte = q[b + 6 + j]!;
    const h0 = ((qh >>> j) << 4) & 0x10;
    const h1 = (qh >>> (j + 12)) & 0x10;
    out[o + j] = f((((byte & 15) | h0) - 16) * d);
    out[o + j + 16] = f((((byte >> 4) | h1) - 16) * d);
  }
}

// dequantize_row_q5_1: x = (nibble | fifth bit << 4) * d + m.
function q5_1(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  const m = halfAt(q, b + 2);
  const qh = highBits(q, b + 4);
  for (let j = 0; j < 16; j++) {
    const byte = q[b + 8 + j]!;
    const h0 = ((qh >>> j) << 4) & 0x10;
    const h1 = (qh >>> (j + 12)) & 0x10;
    out[o + j] = f(f(((byte & 15) | h0) * d) + m);
    out[o + j + 16] = f(f(((byte >> 4) | h1) * d) + m);
  }
}

// dequantize_row_q8_0: x = qs * d.
function q8_0(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  for (let j = 0; j < 32; j++) out[o + j] = f(((q[b + 2 + j]! << 24) >> 24) * d);
}

/**
 * get_scale_min_k4: the 6-bit scale and min of sub-block j (0-7) from a K-quant's 12 scale bytes at
 * `s`: j < 4 in the low 6 bits of bytes j and j + 4; j >= 4 split into a nibble of byte j + 4 and
 * the top 2 bits of bytes j - 4 and j.
 */
export function scaleMinK4(q: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [q[s + j]! & 63, q[s + j + 4]! & 63];
  return [(q[s + j + 4]! & 0xf) | ((q[s + j - 4]! >> 6) << 4), (q[s + j + 4]! >> 4) | ((q[s + j]! >> 6) << 4)];
}

// dequantize_row_q4_K: 8 sub-blocks of 32, x = d * scale * nibble - dmin * min; each 32 bytes of qs
// hold sub-block 2i in the low nibbles and 2i + 1 in the high ones.
function q4_K(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  const min = halfAt(q, b + 2);
  for (let i = 0; i < 4; i++) {
    const [sc1, m1] = scaleMinK4(q, b + 4, 2 * i);
    const [sc2, m2] = scaleMinK4(q, b + 4, 2 * i + 1);
    const d1 = f(d * sc1),
      dm1 = f(min * m1),
      d2 = f(d * sc2),
      dm2 = f(min * m2);
    const qs = b + 16 + 32 * i;
    for (let l = 0; l < 32; l++) {
      out[o + 64 * i + l] = f(f(d1 * (q[qs + l]! & 15)) - dm1);
      out[o + 64 * i + 32 + l] = f(f(d2 * (q[qs + l]! >> 4)) - dm2);
    }
  }
}

// dequantize_row_q5_K: as Q4_K with a fifth bit per element from qh (bits 2i and 2i + 1 of qh[l]).
function q5_K(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b);
  const min = halfAt(q, b + 2);
  const qh = b + 16;
  for (let i = 0; i < 4; i++) {
    const [sc1, m1] = scaleMinK4(q, b + 4, 2 * i);
    const [sc2, m2] = scaleMinK4(q, b + 4, 2 * i + 1);
    const d1 = f(d * sc1),
      dm1 = f(min * m1),
      d2 = f(d * sc2),
      dm2 = f(min * m2);
    const ql = b + 48 + 32 * i;
    const u1 = 1 << (2 * i),
      u2 = 2 << (2 * i);
    for (let l = 0; l < 32; l++) {
      const h = q[qh + l]!;
      out[o + 64 * i + l] = f(f(d1 * ((q[ql + l]! & 15) + (h & u1 ? 16 : 0))) - dm1);
      out[o + 64 * i + 32 + l] = f(f(d2 * ((q[ql + l]! >> 4) + (h & u2 ? 16 : 0))) - dm2);
    }
  }
}

// dequantize_row_q6_K: 16 sub-blocks of 16 with int8 scales, x = d * scale * (6-bit value - 32); each
// half of the block (128 elements) takes 64 bytes of ql (low nibbles) and 32 of qh (2 bits each).
function q6_K(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = halfAt(q, b + 208);
  for (let n = 0; n < 2; n++) {
    const ql = b + 64 * n,
      qh = b + 128 + 32 * n,
      sc = b + 192 + 8 * n,
      y = o + 128 * n;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = q[qh + l]!;
      const v1 = ((q[ql + l]! & 15) | (((h >> 0) & 3) << 4)) - 32;
      const v2 = ((q[ql + l + 32]! & 15) | (((h >> 2) & 3) << 4)) - 32;
      const v3 = ((q[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const v4 = ((q[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
      out[y + l] = f(f(d * ((q[sc + is]! << 24) >> 24)) * v1);
      out[y + l + 32] = f(f(d * ((q[sc + is + 2]! << 24) >> 24)) * v2);
      out[y + l + 64] = f(f(d * ((q[sc + is + 4]! << 24) >> 24)) * v3);
      out[y + l + 96] = f(f(d * ((q[sc + is + 6]! << 24) >> 24)) * v4);
    }
  }
}

// dequantize_row_q8_K: x = qs * d, d a float32.
function q8_K(q: Uint8Array, b: number, out: Float32Array, o: number): void {
  const d = new DataView(q.buffer, q.byteOffset + b, 4).getFloat32(0, true);
  for (let j = 0; j < QK_K; j++) out[o + j] = f(((q[b + 4 + j]! << 24) >> 24) * d);
}

const DECODERS: Readonly<Record<GgmlBlockType, BlockDecoder>> = {
  Q4_0: q4_0,
  Q4_1: q4_1,
  Q5_0: q5_0,
  Q5_1: q5_1,
  Q8_0: q8_0,
  Q4_K: q4_K,
  Q5_K: q5_K,
  Q6_K: q6_K,
  Q8_K: q8_K,
};

/** `count` elements of `type` from `bytes` (which must hold exactly their blocks), as float32. */
export function dequantizeReference(type: GgmlBlockType, bytes: Uint8Array, count: number): Float32Array {
  const need = ggmlByteSize(type, count);
  if (bytes.length !== need)
    throw new ValueError(
      `${count} elements of ${type} take ${need} bytes, got ${bytes.length}: pass the tensor's whole data`,
    );
  const { elements, bytes: size } = BLOCK_LAYOUT[type];
  const decode = DECODERS[type];
  const out = new Float32Array(count);
  for (let i = 0; i < count / elements; i++) decode(bytes, i * size, out, i * elements);
  return out;
}
