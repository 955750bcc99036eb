// OFTConfig: orthogonal fine-tuning's options (HF PEFT 0.21's OFT), with HF's field names and defaults.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';

export interface OftConfig extends PeftConfig {
  peftType: 'OFT';
  /** Number of rotation blocks per layer; exactly one of r and oftBlockSize is non-zero. */
  r: number;
  /** Size of each rotation block (r = in_features / oft_block_size). */
  oftBlockSize: number;
  /**
   * HF PEFT 0.21 stores this (and builds a dropout module from it) but its Linear forward never
   * applies it; peftjs keeps it for the file and, like HF, computes the same with any value.
   */
  moduleDropout: number;
  fanInFanOut: boolean;
  bias: 'none' | 'all' | 'oft_only';
  modulesToSave: string[] | null;
  /** Constrained OFT: each block's skew-symmetric generator is kept within a ball of radius eps/√blocks. */
  coft: boolean;
  eps: number;
  /** One rotation block shared by every block of a layer. */
  blockShare: boolean;
  /** true: the rotation starts as the identity; false: random generators (for tests). */
  initWeights: boolean;
  /** The Cayley transform by a truncated Neumann series (HF's default) instead of an exact solve. */
  useCayleyNeumann: boolean;
  numCayleyNeumannTerms: number;
}

export type OftOptions = Partial<Omit<OftConfig, 'peftType' | 'extra'>> & { peftType?: 'OFT' };

const KNOWN = [
  'r', 'oft_block_size', 'module_dropout', 'fan_in_fan_out', 'bias', 'modules_to_save', 'coft', 'eps', 'block_share', 'init_weights',
  'use_cayley_neumann', 'num_cayley_neumann_terms', 'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern',
];

export function parseOftConfig(raw: Json, path = 'adapter_config.json'): OftConfig {
  const f = new Fields(raw, path);
  const r = f.int('r', 0, 0);
  const oftBlockSize = f.int('oft_block_size', 32, 0);
  if ((r === 0) === (oftBlockSize === 0)) {
    throw new PeftConfigError(
      `${path}: r = ${r} and oft_block_size = ${oftBlockSize}; set exactly one of them (the other 0), since r × oft_block_size = in_features`,
    );
  }
  const targeting = readTargeting(f);
  if (targeting.layersPattern !== null && targeting.layersToTransform === null) {
    throw new PeftConfigError(`${path}: layers_pattern is set without layers_to_transform; give the layer indices too, or drop layers_pattern`);
  }
  return {
    ...readBase(f, 'OFT'),
    peftType: 'OFT',
    ...targeting,
    r,
    oftBlockSize,
    moduleDropout: f.probability('module_dropout', 0),
    fanInFanOut: f.bool('fan_in_fan_out', false),
    bias: f.oneOf('bias', ['none', 'all', 'oft_only'] as const, 'none'),
    modulesToSave: raw.modules_to_save === null || raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    coft: f.bool('coft', false),
    eps: f.number('eps', 6e-5, 0),
    blockShare: f.bool('block_share', false),
    initWeights: f.bool('init_weights', true),
    useCayleyNeumann: f.bool('use_cayley_neumann', true),
    numCayleyNeumannTerms: f.int('num_cayley_neumann_terms', 5, 1),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeOftConfig(c: OftConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    r: c.r,
    oft_block_size: c.oftBlockSize,
    module_dropout: c.moduleDropout,
    fan_in_fan_out: c.fanInFanOut,
    bias: c.bias,
    modules_to_save: c.modulesToSave,
    coft: c.coft,
    eps: c.eps,
    block_share: c.blockShare,
    init_weights: c.initWeights,
    use_cayley_neumann: c.useCayleyNeumann,
    num_cayley_neumann_terms: c.numCayleyNeumannTerms,
  };
}
