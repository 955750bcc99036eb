// The code books of bitsandbytes' quantisation types, float32 values as bitsandbytes builds
// them (bitsandbytes/functional.py at 95f9af3: get_4bit_type, create_dynamic_map).
import type { QuantType4 } from './state.js';

const f32 = Math.fround;

/**
 * NF4: the 16 quantiles of N(0, 1) of the QLoRA paper (Dettmers et al. 2023, appendix E),
 * normalised to [-1, 1]: create_normal_map(offset=0.9677083), hard-coded by get_4bit_type.
 */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/**
 * FP4 (1 sign, 2 exponent, 1 mantissa bits, bias 3) in bit-pattern order, divided by its
 * absmax 12 in float32 as get_4bit_type does (`data.div_(data.abs().max())`).
 */
export const FP4_CODE: Float32Array = Float32Array.from(
  [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => f32(v / 12)),
);

export function code4(quantType: QuantType4): Float32Array {
  return quantType === 'nf4' ? NF4_CODE : FP4_CODE;
}

/**
 * torch.linspace(start, end, steps) in float32 as ATen's CPU kernel computes it (the first half
 * counted up from start, the second down from end, step = (end - start) / (steps - 1)).
 */
export function linspace32(start: number, end: number, steps: number): number[] {
  const s = f32(start);
  const e = f32(end);
  const step = f32((e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  return Array.from({ length: steps }, (_, i) => (i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)))));
}

/**
 * create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): the 8-bit dynamic code
 * (Dettmers 2015) the double-quantised absmax values use; 256 sorted float32 values.
 */
function createDynamicMap(): Float32Array {
  const data: number[] = [];
  const maxExponentBits = 7;
  const nonSignBits = 7;
  for (let i = 0; i < maxExponentBits; i++) {
    const fractionItems = 2 ** (i + nonSignBits - maxExponentBits) + 1;
    const boundaries = linspace32(0.1, 1, fractionItems);
    // The Python scalar 10 ** k multiplies a float32 tensor: ATen casts it to float32 first.
    const scale = f32(10 ** (-(maxExponentBits - 1) + i));
    for (let k = 0; k + 1 < boundaries.length; k++) {
      const mean = f32(f32(boundaries[k]! + boundaries[k + 1]!) / 2);
      data.push(f32(scale * mean), f32(-scale * mean));
    }
  }
  data.push(0, 1);
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** The 256 values of bitsandbytes' signed 8-bit dynamic code, sorted. */
export const DYNAMIC_CODE: Float32Array = createDynamicMap();
