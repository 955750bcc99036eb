// Rotary position embedding parameters, in one shape for both generations of config.json:
// transformers 5 writes `rope_parameters` ({rope_type, rope_theta, factor, ...}); older configs
// have `rope_theta` and `rope_scaling` ({type | rope_type, factor, ...} or null) at the top level.
import type { Fields } from './fields.js';

export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3'] as const;
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
  }
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
