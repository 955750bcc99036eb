// llama.cpp's quantize_row_q8_0 (ggml-cpu, x86) in TypeScript, for the tests of the integer path of
// ggml block types (native/src/ggml/int8_dot.h): x as the values its Q8_0 blocks stand for.
import { f16ToFloat, floatToF16 } from '../../src/tensor/half.js';
import type { GgmlBlockType } from '../../src/gguf/quant/index.js';

/** Round half to even, as _mm256_round_ps(_MM_ROUND_NEAREST) and nearbyint do. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Each block of 32: d = amax / 127 (kept as f16), q = round(x · 127 / amax); returns q · d. */
export function q8Activations(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let t = 0; t < 32; t++) amax = Math.max(amax, Math.abs(x[b + t]!));
    const id = amax !== 0 ? Math.fround(127 / amax) : 0;
    const d = f16ToFloat(floatToF16(Math.fround(amax / 127)));
    for (let t = 0; t < 32; t++) out[b + t] = roundEven(Math.fround(x[b + t]! * id)) * d;
  }
  return out;
}

/** The block types whose many-row products take the integer path. */
export const INT8_TYPES: readonly GgmlBlockType[] = ['Q4_0', 'Q5_0', 'Q8_0', 'Q4_K'];
