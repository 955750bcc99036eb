// Llama 3 rope scaling in GGUF files. convert_hf_to_gguf.py writes no rope metadata for it: it
// writes the tensor `rope_freqs.weight`, one divisor per frequency (LlamaModel.generate_extra_tensors
// in conversion/llama.py), and llama.cpp divides θ^(-2i/d) by it. Dividing by those divisors is what
// HF's _compute_llama3_parameters (transformers' modeling_rope_utils.py) computes, so a file's
// divisors map back onto HF's llama3 rope_scaling config, and that config onto the divisors.
import type { RopeParameters } from '../io/index.js';

export const ROPE_FREQS_TENSOR = 'rope_freqs.weight';

type Llama3Rope = Extract<RopeParameters, { rope_type: 'llama3' }>;

/** θ^(-2i/d) in float32 (torch's arange(0, dim, 2) / dim in the converter), i < dim/2. */
function baseFrequencies(theta: number, dim: number): number[] {
  return Array.from({ length: dim / 2 }, (_, i) => Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / dim))));
}

/** The converter's divisors for HF's llama3 parameters (generate_extra_tensors, line for line). */
export function llama3RopeFactors(rope: Llama3Rope, dim: number): Float32Array {
  const lowWavelen = rope.original_max_position_embeddings / rope.low_freq_factor;
  const highWavelen = rope.original_max_position_embeddings / rope.high_freq_factor;
  return Float32Array.from(baseFrequencies(rope.rope_theta, dim), (freq) => {
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return rope.factor;
    const smooth =
      (rope.original_max_position_embeddings / wavelen - rope.low_freq_factor) /
      (rope.high_freq_factor - rope.low_freq_factor);
    return 1 / ((1 - smooth) / rope.factor + smooth);
  });
}

/**
 * HF's llama3 parameters whose divisors are `factors` (null when every divisor is 1: no scaling).
 * Every Llama 3.x checkpoint (and the converter's defaults) has low_freq_factor 1 and high_freq_factor 4;
 * with those, `factor` is the largest divisor and original_max_position_embeddings follows from a
 * divisor between the two bands (or from the bands' edges). Returns a reason instead when the
 * recovered parameters do not give back the file's divisors.
 */
export function llama3RopeFromFactors(
  factors: Float32Array,
  theta: number,
  dim: number,
): Llama3Rope | null | { mismatch: string } {
  if (factors.length !== dim / 2) return { mismatch: `${factors.length} values for ${dim / 2} frequencies (rope dimension ${dim})` };
  if (factors.every((d) => d === 1)) return null;
  const factor = Math.max(...factors);
  const [low, high] = [1, 4];
  const wavelens = baseFrequencies(theta, dim).map((f) => (2 * Math.PI) / f);
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  const between = [...factors.keys()].find((i) => !near(factors[i]!, 1) && !near(factors[i]!, factor));
  let context: number;
  if (between !== undefined) {
    // 1/d = (1 - s)/factor + s with s = (L/wavelen - low)/(high - low).
    const smooth = (1 / factors[between]! - 1 / factor) / (1 - 1 / factor);
    context = Math.round(wavelens[between]! * (smooth * (high - low) + low));
  } else {
    // Only the two bands: any L with wavelen < L/high for divisor 1 and wavelen > L/low for `factor` does.
    context = Math.floor(Math.min(...wavelens.filter((_, i) => near(factors[i]!, factor))) * low);
  }
  const rope: Llama3Rope = {
    rope_type: 'llama3',
    rope_theta: theta,
    factor,
    low_freq_factor: low,
    high_freq_factor: high,
    original_max_position_embeddings: context,
  };
  const back = llama3RopeFactors(rope, dim);
  const worst = Math.max(...factors.map((d, i) => Math.abs(d - back[i]!) / d));
  if (!(worst <= 1e-5)) {
    return {
      mismatch: `its divisors are not Llama 3's (low_freq_factor 1, high_freq_factor 4; the closest, factor ${factor} and original context ${context}, differ by ${worst.toExponential(2)})`,
    };
  }
  return rope;
}
