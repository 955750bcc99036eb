// The TypeScript reference quantisers of ggml's 32-element block types: ports of ggml-quants.c's
// quantize_row_q4_0_ref, _q4_1_ref, _q5_0_ref, _q5_1_ref and _q8_0_ref (ggml-org/llama.cpp,
// ggml/src/ggml-quants.c), bit for bit: each float operation is rounded to float32 in C's order, the
// scales are stored as f16 rounded to nearest even (GGML_FP32_TO_FP16), and float -> integer casts
// truncate as C's do. The K-quants are in ./reference-quantize-k.ts.
import { floatToF16 } from '../../tensor/half.js';

const f = Math.fround;

/** Writes the f16 bits of `value` little-endian at byte `at`. */
export function putHalf(out: Uint8Array, at: number, value: number): void {
  const bits = floatToF16(value);
  out[at] = bits & 0xff;
  out[at + 1] = bits >> 8;
}

/** C's roundf: to nearest, halves away from zero. */
export function roundf(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/** The element of largest magnitude of x[o, o + n), first one on ties (the `max` of the _0 quantisers). */
function signedAbsMax(x: Float32Array, o: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[o + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function minMax(x: Float32Array, o: number, n: number): [number, number] {
  let min = 3.4028234663852886e38;
  let max = -3.4028234663852886e38;
  for (let j = 0; j < n; j++) {
    const v = x[o + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

// Each quantises the 32 elements x[o, o + 32) into the block at out[b ...].
type BlockEncoder = (x: Float32Array, o: number, out: Uint8Array, b: number) => void;

// quantize_row_q4_0_ref: d = max / -8, nibble = min(15, (int8)(x / d + 8.5)).
function q4_0(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const d = f(signedAbsMax(x, o, 32) / -8);
  const id = d ? f(1 / d) : 0;
  putHalf(out, b, d);
  for (let j = 0; j < 16; j++) {
    const x0 = f(x[o + j]! * id);
    const x1 = f(x[o + 16 + j]! * id);
    const xi0 = Math.min(15, Math.trunc(f(x0 + 8.5)));
    const xi1 = Math.min(15, Math.trunc(f(x1 + 8.5)));
    out[b + 2 + j] = xi0 | (xi1 << 4);
  }
}

// quantize_row_q4_1_ref: d = (max - min) / 15, m = min, nibble = min(15, (int8)((x - min) / d + 0.5)).
function q4_1(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const [min, max] = minMax(x, o, 32);
  const d = f(f(max - min) / 15);
  const id = d ? f(1 / d) : 0;
  putHalf(out, b, d);
  putHalf(out, b + 2, min);
  for (let j = 0; j < 16; j++) {
    const x0 = f(f(x[o + j]! - min) * id);
    const x1 = f(f(x[o + 16 + j]! - min) * id);
    const xi0 = Math.min(15, Math.trunc(f(x0 + 0.5)));
    const xi1 = Math.min(15, Math.trunc(f(x1 + 0.5)));
    out[b + 4 + j] = xi0 | (xi1 << 4);
  }
}

/** Stores the 32 fifth bits little-endian at byte `at`. */
function putHighBits(out: Uint8Array, at: number, qh: number): void {
  for (let i = 0; i < 4; i++) out[at + i] = (qh >>> (8 * i)) & 0xff;
}

// quantize_row_q5_0_ref: d = max / -16, value = min(31, (int8)(x / d + 16.5)), bit 4 into qh.
function q5_0(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const d = f(signedAbsMax(x, o, 32) / -16);
  const id = d ? f(1 / d) : 0;
  putHalf(out, b, d);
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const xi0 = Math.min(31, Math.trunc(f(f(x[o + j]! * id) + 16.5)));
    const xi1 = Math.min(31, Math.trunc(f(f(x[o + 16 + j]! * id) + 16.5)));
    out[b + 6 + j] = (xi0 & 15) | ((xi1 & 15) << 4);
    qh |= ((xi0 & 0x10) >> 4) << j;
    qh |= ((xi1 & 0x10) >> 4) << (j + 16);
  }
  putHighBits(out, b + 2, qh);
}

// quantize_row_q5_1_ref: d = (max - min) / 31, m = min, value = (uint8)((x - min) / d + 0.5).
function q5_1(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  const [min, max] = minMax(x, o, 32);
  const d = f(f(max - min) / 31);
  const id = d ? f(1 / d) : 0;
  putHalf(out, b, d);
  putHalf(out, b + 2, min);
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const xi0 = Math.trunc(f(f(f(x[o + j]! - min) * id) + 0.5)) & 0xff;
    const xi1 = Math.trunc(f(f(f(x[o + 16 + j]! - min) * id) + 0.5)) & 0xff;
    out[b + 8 + j] = (xi0 & 15) | ((xi1 & 15) << 4);
    qh |= ((xi0 & 0x10) >> 4) << j;
    qh |= ((xi1 & 0x10) >> 4) << (j + 16);
  }
  putHighBits(out, b + 4, qh);
}

// quantize_row_q8_0_ref: d = amax / 127, qs = roundf(x / d).
function q8_0(x: Float32Array, o: number, out: Uint8Array, b: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]!));
  const d = f(amax / 127);
  const id = d ? f(1 / d) : 0;
  putHalf(out, b, d);
  for (let j = 0; j < 32; j++) out[b + 2 + j] = roundf(f(x[o + j]! * id)) & 0xff;
}

export const SMALL_BLOCK_ENCODERS = {
  Q4_0: q4_0,
  Q4_1: q4_1,
  Q5_0: q5_0,
  Q5_1: q5_1,
  Q8_0: q8_0,
} as const satisfies Record<string, BlockEncoder>;
