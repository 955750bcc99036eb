// Rotary position embedding parameters, in one shape for both generations of config.json:
// transformers 5 writes `rope_parameters` ({rope_type, rope_theta, factor, ...}); older configs
// have `rope_theta` and `rope_scaling` ({type | rope_type, factor, ...} or null) at the top level.
import type { Fields } from './fields.js';

export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3', 'yarn'] as const;
export type RopeType = (typeof ROPE_TYPES)[number];

export type RopeParameters =
  | { rope_type: 'default'; rope_theta: number }
  /** Positions divided by `factor`. */
  | { rope_type: 'linear'; rope_theta: number; factor: number }
  /** Dynamic NTK: the base grows with the sequence length beyond original_max_position_embeddings. */
  | { rope_type: 'dynamic'; rope_theta: number; factor: number; original_max_position_embeddings: number }
  /** Llama 3.1: frequencies rescaled by wavelength band. */
  | {
      rope_type: 'llama3';
      rope_theta: number;
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    }
  /** YaRN: frequencies ramped between extrapolation and interpolation, cos/sin scaled by attention_factor. */
  | {
      rope_type: 'yarn';
      rope_theta: number;
      factor: number;
      original_max_position_embeddings: number;
      /** As given, else from factor (and mscale / mscale_all_dim) as HF computes it. */
      attention_factor: number;
      beta_fast: number;
      beta_slow: number;
      truncate: boolean;
    };

/** Reads the rope fields of `f` (a decoder config); `max_position_embeddings` is the dynamic default. */
export function readRope(f: Fields, defaultTheta: number, maxPositionEmbeddings: number): RopeParameters {
  const params = f.object('rope_parameters') ?? f.object('rope_scaling');
  const theta = params?.has('rope_theta') ? params.number('rope_theta', 0, 0) : f.number('rope_theta', defaultTheta, 0);
  if (params === undefined) return { rope_type: 'default', rope_theta: theta };
  const typeField = params.has('rope_type') || !params.has('type') ? 'rope_type' : 'type';
  const rope_type = params.oneOf<RopeType>(typeField, ROPE_TYPES, 'default');
  switch (rope_type) {
    case 'default':
      return { rope_type, rope_theta: theta };
    case 'linear':
      return { rope_type, rope_theta: theta, factor: required(params, 'factor') };
    case 'dynamic':
      return {
        rope_type,
        rope_theta: theta,
        factor: required(params, 'factor'),
        original_max_position_embeddings: params.int('original_max_position_embeddings', maxPositionEmbeddings),
      };
    case 'llama3':
      return {
        rope_type,
        rope_theta: theta,
        factor: required(params, 'factor'),
        low_freq_factor: required(params, 'low_freq_factor'),
        high_freq_factor: required(params, 'high_freq_factor'),
        original_max_position_embeddings: requiredInt(params, 'original_max_position_embeddings'),
      };
    case 'yarn':
      return readYarn(params, theta, maxPositionEmbeddings);
  }
}

/** transformers' _compute_yarn_parameters (modeling_rope_utils.py): its defaults and attention factor. */
function readYarn(params: Fields, theta: number, maxPositionEmbeddings: number): RopeParameters {
  const original = requiredInt(params, 'original_max_position_embeddings');
  // DeepSeek-V3 style configs give no factor: the ratio of the context lengths.
  const factor = params.has('factor') ? required(params, 'factor') : maxPositionEmbeddings / original;
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const m = params.number('mscale', 0);
  const mAll = params.number('mscale_all_dim', 0);
  const attentionFactor = params.has('attention_factor')
    ? params.number('attention_factor', 0)
    : m && mAll
      ? mscale(factor, m) / mscale(factor, mAll)
      : mscale(factor);
  return {
    rope_type: 'yarn',
    rope_theta: theta,
    factor,
    original_max_position_embeddings: original,
    attention_factor: attentionFactor,
    // HF: `get("beta_fast") or 32`, so 0 and null fall back too.
    beta_fast: params.number('beta_fast', 0) || 32,
    beta_slow: params.number('beta_slow', 0) || 1,
    truncate: params.raw.truncate !== false,
  };
}

function required(f: Fields, name: string): number {
  if (!f.has(name)) f.missing(name, `rope_type '${ropeType(f)}' needs it`);
  const value = f.number(name, 0);
  return value > 0 ? value : f.fail(name, 'a positive number', value);
}

function requiredInt(f: Fields, name: string): number {
  if (!f.has(name)) f.missing(name, `rope_type '${ropeType(f)}' needs it`);
  return f.int(name, 0);
}

function ropeType(f: Fields): string {
  return String(f.raw.rope_type ?? f.raw.type);
}
