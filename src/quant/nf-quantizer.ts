// LoftQ's own quantiser for 2 and 8 bits (and 4 without bitsandbytes): HF PEFT's NFQuantizer
// (peft/utils/loftq_utils.py: create_normal_map(offset=0.9677083, symmetric=False), quantize_block,
// dequantize_block with method="normal", block_size=64), in float32 as torch computes it. Only the
// round trip (quantise, dequantise) is needed: LoftQ keeps the dequantised weight, not the codes.
import { ValueError } from '../tensor/index.js';
import { linspace32 } from './codes.js';

const f32 = Math.fround;

/** The bit widths NFQuantizer serves (loftq_init refuses others). */
export const NF_QUANTIZER_BITS = [2, 4, 8] as const;
export const NF_QUANTIZER_BLOCK = 64;

/** Φ(x) - 1/2 for 0 <= x <= 2: φ(x)·Σ x^(2n+1) / (2n+1)!!, all terms positive (no cancellation). */
function normalCdfMinusHalf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && term > sum * 1e-18; n++) {
    term *= (x * x) / (2 * n + 1);
    sum += term;
  }
  return (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)) * sum;
}

/**
 * scipy's norm.ppf(p) for 1/2 <= p <= Φ(2) in float64 (Newton's method on the series above, from
 * the left: Φ is concave there, so the iterates rise monotonically to the root; within ~1e-15).
 */
export function normalPpf(p: number): number {
  if (!(p >= 0.5 && p <= 0.977))
    throw new ValueError(`normalPpf: p = ${p} is outside [0.5, 0.977], the range LoftQ's normal map needs`);
  let x = 0;
  for (let i = 0; i < 100; i++) {
    const step = (p - 0.5 - normalCdfMinusHalf(x)) / (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
    x += step;
    if (Math.abs(step) <= 1e-17 * Math.max(1, x)) break;
  }
  return x;
}

/**
 * NFQuantizer.create_normal_map(num_bits=bits): 2^bits float32 values, sorted, the largest 1.
 * norm.ppf of a float32 linspace, rounded to float32 (scipy's float32 loop), divided by the max in
 * float32.
 */
export function createNormalMap(bits: number, offset = 0.9677083): Float32Array {
  const variations = 2 ** bits;
  const v1 = linspace32(offset, 0.5, variations / 2 + 1)
    .slice(0, -1)
    .map((p) => f32(normalPpf(p)));
  const v3 = linspace32(offset, 0.5, variations / 2)
    .slice(0, -1)
    .map((p) => -f32(normalPpf(p)));
  const values = Float32Array.from([...v1, 0, ...v3]).sort();
  const max = values[values.length - 1]!;
  return values.map((v) => f32(v / max));
}

/**
 * dequantize_block(quantize_block(w)) for w [rows, cols] (row-major float32): per block of 64
 * consecutive elements, m = max |w|, each element w / m (float32) replaced by the nearest table
 * value (the first on a tie, torch.argmin's rule; a block of zeros gives NaN, which argmin takes as
 * the minimum: index 0), times m.
 */
export function nfQuantizerRoundTrip(values: Float32Array, rows: number, cols: number, bits: number): Float32Array {
  if (!(NF_QUANTIZER_BITS as readonly number[]).includes(bits)) {
    throw new ValueError(`LoftQ's NFQuantizer takes 2, 4 or 8 bits, not ${bits}`);
  }
  if ((rows * cols) % NF_QUANTIZER_BLOCK !== 0) {
    throw new ValueError(
      `LoftQ quantises in blocks of ${NF_QUANTIZER_BLOCK}: a weight of ${rows} x ${cols} = ${rows * cols} elements is not a whole number of blocks (HF PEFT refuses it too)`,
    );
  }
  const table = createNormalMap(bits);
  const out = new Float32Array(values.length);
  for (let b = 0; b < values.length; b += NF_QUANTIZER_BLOCK) {
    let max = 0;
    for (let i = b; i < b + NF_QUANTIZER_BLOCK; i++) max = Math.max(max, Math.abs(values[i]!));
    for (let i = b; i < b + NF_QUANTIZER_BLOCK; i++) {
      const normed = f32(values[i]! / max);
      let best = 0;
      let bestDiff = Infinity;
      if (!Number.isNaN(normed)) {
        for (let j = 0; j < table.length; j++) {
          const diff = Math.abs(f32(normed - table[j]!));
          if (diff < bestDiff) {
            bestDiff = diff;
            best = j;
          }
        }
      }
      out[i] = f32(table[best]! * max);
    }
  }
  return out;
}
