// BottleneckConfig: bottleneck adapters (Houlsby, Pfeiffer, parallel, scaled parallel), their
// AdapterFusion and AdapterDrop. HF PEFT has no such method: peft_type BOTTLENECK is peftjs's own,
// saved in HF's layout with every option written (snake_case).
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';

/**
 * Where the adapters sit: houlsby after the attention and the feed-forward sublayers, pfeiffer
 * after the feed-forward sublayer, parallel / scaled_parallel beside the feed-forward block
 * (He et al. 2022), its output scaled by `scaling`.
 */
export const ADAPTER_TYPES = ['houlsby', 'pfeiffer', 'parallel', 'scaled_parallel'] as const;
export type AdapterType = (typeof ADAPTER_TYPES)[number];

export const NON_LINEARITIES = ['relu', 'gelu', 'silu', 'tanh'] as const;
export type NonLinearity = (typeof NON_LINEARITIES)[number];

/**
 * zero: the up-projection starts at zero, so the adapter starts as the exact identity;
 * near_identity: both projections drawn from N(0, 0.01²) (Houlsby et al.); random: PyTorch's
 * Linear init for both (outputs differ from the base: for tests).
 */
export const INIT_WEIGHTS = ['zero', 'near_identity', 'random'] as const;
export type BottleneckInit = (typeof INIT_WEIGHTS)[number];

export interface BottleneckConfig extends PeftConfig {
  peftType: 'BOTTLENECK';
  adapterType: AdapterType;
  /** bottleneck width = floor(hidden size / reduction factor). */
  reductionFactor: number;
  nonLinearity: NonLinearity;
  /** The output factor s: 1, or 4 for scaled_parallel (He et al.'s choice), unless given. */
  scaling: number;
  /** The residual is added from before the adapter's own ln_before (true) or after it (false). */
  residualBeforeLn: boolean;
  lnBefore: boolean;
  lnAfter: boolean;
  initWeights: BottleneckInit;
  /** AdapterDrop: no adapters in the layers with index below this (in every stack). */
  dropLowestLayers: number;
  /** AdapterFusion (stage 2): the adapters this fusion attends over; null for a plain adapter. */
  fusionOf: string[] | null;
  modulesToSave: string[] | null;
}

export type BottleneckOptions = Partial<Omit<BottleneckConfig, 'peftType' | 'extra'>> & { peftType?: 'BOTTLENECK' };

const KNOWN = [
  'adapter_type', 'reduction_factor', 'non_linearity', 'scaling', 'residual_before_ln', 'ln_before', 'ln_after', 'init_weights',
  'drop_lowest_layers', 'fusion_of', 'modules_to_save', 'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern',
];

export function parseBottleneckConfig(raw: Json, path = 'adapter_config.json'): BottleneckConfig {
  const f = new Fields(raw, path);
  const adapterType = f.oneOf('adapter_type', ADAPTER_TYPES, 'houlsby');
  const reductionFactor = f.number('reduction_factor', 16);
  if (!(reductionFactor > 0) || !Number.isFinite(reductionFactor)) {
    throw new PeftConfigError(`${path}: reduction_factor ${JSON.stringify(raw.reduction_factor)} must be a positive number (the bottleneck is hidden size / reduction_factor; 16 is usual)`);
  }
  const lnAfter = f.bool('ln_after', false);
  if (lnAfter && isParallel(adapterType)) {
    throw new PeftConfigError(`${path}: ln_after is for sequential adapters; a ${adapterType} adapter adds its output to the feed-forward block's, so set ln_after false`);
  }
  const fusionOf = raw.fusion_of === undefined || raw.fusion_of === null ? null : f.strings('fusion_of', []);
  if (fusionOf !== null && (fusionOf.length < 2 || new Set(fusionOf).size !== fusionOf.length)) {
    throw new PeftConfigError(`${path}: fusion_of ${JSON.stringify(fusionOf)} must name two or more different adapters`);
  }
  return {
    ...readBase(f, 'BOTTLENECK'),
    peftType: 'BOTTLENECK',
    ...readTargeting(f),
    adapterType,
    reductionFactor,
    nonLinearity: f.oneOf('non_linearity', NON_LINEARITIES, 'relu'),
    scaling: f.number('scaling', adapterType === 'scaled_parallel' ? 4 : 1),
    residualBeforeLn: f.bool('residual_before_ln', true),
    lnBefore: f.bool('ln_before', false),
    lnAfter,
    initWeights: f.oneOf('init_weights', INIT_WEIGHTS, 'zero'),
    dropLowestLayers: f.int('drop_lowest_layers', 0, 0),
    fusionOf,
    modulesToSave: raw.modules_to_save === null || raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    extra: extraFields(raw, KNOWN),
  };
}

export function writeBottleneckConfig(c: BottleneckConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    adapter_type: c.adapterType,
    reduction_factor: c.reductionFactor,
    non_linearity: c.nonLinearity,
    scaling: c.scaling,
    residual_before_ln: c.residualBeforeLn,
    ln_before: c.lnBefore,
    ln_after: c.lnAfter,
    init_weights: c.initWeights,
    drop_lowest_layers: c.dropLowestLayers,
    fusion_of: c.fusionOf,
    modules_to_save: c.modulesToSave,
  };
}

/** True for the types that run beside the feed-forward block rather than after a sublayer. */
export function isParallel(type: AdapterType): boolean {
  return type === 'parallel' || type === 'scaled_parallel';
}
