// VeraConfig: VeRA's options, with HF PEFT's field names and defaults. HF's VeraConfig has no
// exclude_modules, so it is neither read nor written.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';

export interface VeraConfig extends PeftConfig {
  peftType: 'VERA';
  /** Rank of the shared projections vera_A [r, in] and vera_B [out, r]. */
  r: number;
  /**
   * Seed of the shared projections, drawn as HF draws them (torch's CPU generator, TorchCpuGenerator):
   * the same key gives HF's projections bit for bit, so an adapter saved without them (save_projection
   * false) reloads in either library.
   */
  projectionPrngKey: number;
  /** Save vera_A and vera_B with the adapter (as `base_model.vera_A` / `base_model.vera_B`). */
  saveProjection: boolean;
  veraDropout: number;
  /** The initial value of every vera_lambda_d entry (vera_lambda_b starts at zero). */
  dInitial: number;
  fanInFanOut: boolean;
  bias: 'none' | 'all' | 'vera_only';
  modulesToSave: string[] | null;
  /** true: the adapter starts as the identity (lambda_b = 0); false: lambda_b = 1, lambda_d random (for tests). */
  initWeights: boolean;
}

export type VeraOptions = Partial<Omit<VeraConfig, 'peftType' | 'extra'>> & { peftType?: 'VERA' };

const KNOWN = [
  'r', 'projection_prng_key', 'save_projection', 'vera_dropout', 'd_initial', 'fan_in_fan_out', 'bias', 'modules_to_save',
  'init_weights', 'target_modules', 'layers_to_transform', 'layers_pattern',
];

export function parseVeraConfig(raw: Json, path = 'adapter_config.json'): VeraConfig {
  const f = new Fields(raw, path);
  return {
    ...readBase(f, 'VERA'),
    peftType: 'VERA',
    ...readTargeting(f),
    excludeModules: null,
    r: f.int('r', 256, 1),
    projectionPrngKey: f.int('projection_prng_key', 0, 0),
    saveProjection: f.bool('save_projection', true),
    veraDropout: f.probability('vera_dropout', 0),
    dInitial: f.number('d_initial', 0.1),
    fanInFanOut: f.bool('fan_in_fan_out', false),
    bias: f.oneOf('bias', ['none', 'all', 'vera_only'] as const, 'none'),
    modulesToSave: raw.modules_to_save === null || raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    initWeights: f.bool('init_weights', true),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeVeraConfig(c: VeraConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    target_modules: c.targetModules,
    layers_to_transform: c.layersToTransform,
    layers_pattern: c.layersPattern,
    r: c.r,
    projection_prng_key: c.projectionPrngKey,
    save_projection: c.saveProjection,
    vera_dropout: c.veraDropout,
    d_initial: c.dInitial,
    fan_in_fan_out: c.fanInFanOut,
    bias: c.bias,
    modules_to_save: c.modulesToSave,
    init_weights: c.initWeights,
  };
}
