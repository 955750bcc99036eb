// Rotary position embeddings: the cos/sin tables HF's LlamaRotaryEmbedding computes, including
// the linear, dynamic-NTK, Llama 3 and YaRN frequency scalings.
import { Tensor, tensor } from '../tensor/index.js';
import type { RopeParameters } from '../io/index.js';

/** Inverse frequencies θ^(-2i/d), rescaled as the rope type says (for `seqLen` positions). */
export function inverseFrequencies(params: RopeParameters, dim: number, seqLen: number): Float64Array {
  let theta = params.rope_theta;
  if (params.rope_type === 'dynamic' && seqLen > params.original_max_position_embeddings) {
    const ratio = (params.factor * seqLen) / params.original_max_position_embeddings - (params.factor - 1);
    theta *= ratio ** (dim / (dim - 2));
  }
  const half = dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / dim);
  // HF computes inv_freq in float32; round the same way so the tables agree to the last bit.
  for (let i = 0; i < half; i++) inv[i] = Math.fround(inv[i]!);
  if (params.rope_type === 'linear') for (let i = 0; i < half; i++) inv[i] = inv[i]! / params.factor;
  if (params.rope_type === 'llama3') applyLlama3Scaling(inv, params);
  if (params.rope_type === 'yarn') applyYarnScaling(inv, params, dim);
  return inv;
}

/**
 * transformers' _compute_yarn_parameters: per frequency, a linear ramp (over the dimensions between the
 * beta_fast and beta_slow correction dimensions) from θ^(-2i/d) (extrapolation) to it over `factor`
 * (interpolation); float32 steps as torch takes them.
 */
function applyYarnScaling(inv: Float64Array, p: Extract<RopeParameters, { rope_type: 'yarn' }>, dim: number): void {
  const correctionDim = (rotations: number) =>
    (dim * Math.log(p.original_max_position_embeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(p.rope_theta));
  let low = correctionDim(p.beta_fast);
  let high = correctionDim(p.beta_slow);
  if (p.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // HF: prevent singularity
  for (let i = 0; i < inv.length; i++) {
    const posFreq = Math.fround(p.rope_theta ** Math.fround((2 * i) / dim));
    const extrapolation = Math.fround(1 / posFreq);
    const interpolation = Math.fround(1 / Math.fround(p.factor * posFreq));
    const ramp = Math.min(1, Math.max(0, Math.fround(Math.fround(i - low) / Math.fround(high - low))));
    const extrapolationFactor = Math.fround(1 - ramp);
    inv[i] = Math.fround(
      Math.fround(interpolation * Math.fround(1 - extrapolationFactor)) + Math.fround(extrapolation * extrapolationFactor),
    );
  }
}

/** The factor HF multiplies cos and sin by (attention_scaling): YaRN's attention factor, else 1. */
export function attentionScaling(params: RopeParameters): number {
  return params.rope_type === 'yarn' ? params.attention_factor : 1;
}

function applyLlama3Scaling(inv: Float64Array, p: Extract<RopeParameters, { rope_type: 'llama3' }>): void {
  const lowWavelen = p.original_max_position_embeddings / p.low_freq_factor;
  const highWavelen = p.original_max_position_embeddings / p.high_freq_factor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i]!;
    if (wavelen > lowWavelen) {
      inv[i] = inv[i]! / p.factor;
    } else if (wavelen >= highWavelen) {
      const smooth = (p.original_max_position_embeddings / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
      inv[i] = ((1 - smooth) * inv[i]!) / p.factor + smooth * inv[i]!;
    }
    inv[i] = Math.fround(inv[i]!);
  }
}

/**
 * cos and sin tables [batch, seq, dim] for integer positions [batch, seq]: each row is
 * cat(freqs, freqs) with freqs = position · inv_freq, as HF's rotate_half convention needs.
 */
export function rotaryTables(params: RopeParameters, dim: number, positions: Tensor): { cos: Tensor; sin: Tensor } {
  const [batch, seq] = positions.shape as [number, number];
  const pos = positions.toFlatArray();
  const maxPos = pos.reduce((m, p) => Math.max(m, p), 0) + 1;
  const inv = inverseFrequencies(params, dim, maxPos);
  const scale = attentionScaling(params);
  const half = dim / 2;
  const cos = new Float32Array(batch * seq * dim);
  const sin = new Float32Array(batch * seq * dim);
  for (let r = 0; r < batch * seq; r++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos[r]! * inv[i]!);
      const c = Math.cos(angle) * scale;
      const s = Math.sin(angle) * scale;
      cos[r * dim + i] = cos[r * dim + half + i] = c;
      sin[r * dim + i] = sin[r * dim + half + i] = s;
    }
  }
  return { cos: tensor(cos, [batch, seq, dim]), sin: tensor(sin, [batch, seq, dim]) };
}
