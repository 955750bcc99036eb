// The hybrids' configs (peftjs's own peft_types MAM and UNIPELT, saved in HF's layout with every
// option written, snake_case): a prefix part (prefix tuning's options), a bottleneck-adapter part
// and, for UniPELT, a LoRA part. Parts are placed by architecture (placements.ts), so
// target_modules stays null; layers_to_transform / layers_pattern / exclude_modules select layers.
import { Fields, extraFields, readBase, writeBase, type Json } from '../../config/base.js';
import { readTargeting, writeTargeting } from '../../config/targeting.js';
import type { PeftConfig } from '../../config/peft-config.js';
import { PeftConfigError } from '../../errors.js';
import { INIT_WEIGHTS, NON_LINEARITIES, type BottleneckInit, type NonLinearity } from '../bottleneck/config.js';

export interface PrefixPart {
  /** Prefix length: virtual keys/values per attention layer. */
  numVirtualTokens: number;
  /** Reparameterise each layer's prefix through Linear → tanh → Linear (Li & Liang 2021). */
  prefixProjection: boolean;
  /** The reparameterisation's hidden width (null: the prefix's token_dim). */
  encoderHiddenSize: number | null;
  /** 'zero': the prefix table (or the MLP's last layer) starts at zero; null: torch's default init. */
  prefixInit: 'zero' | null;
}

export interface AdapterPart {
  /** bottleneck width = floor(hidden size / reduction factor). */
  reductionFactor: number;
  nonLinearity: NonLinearity;
  /** The adapter output's factor s (He et al.'s scaled parallel adapter: 4). */
  scaling: number;
  /** The adapter's init: 'zero' (up-projection zero: it adds nothing at first), near_identity, random. */
  initWeights: BottleneckInit;
}

export interface HybridConfig extends PeftConfig, PrefixPart, AdapterPart {}

const PREFIX_KEYS = ['num_virtual_tokens', 'prefix_projection', 'encoder_hidden_size', 'prefix_init'];
const ADAPTER_KEYS = ['reduction_factor', 'non_linearity', 'scaling', 'init_weights'];
export const HYBRID_KEYS = [...PREFIX_KEYS, ...ADAPTER_KEYS, 'modules_to_save', 'target_modules', 'exclude_modules', 'layers_to_transform', 'layers_pattern'];

/** The fields every hybrid has, with the method's defaults. */
export function readHybrid(f: Fields, peftType: string, defaults: { numVirtualTokens: number; scaling: number }, known: readonly string[]): HybridConfig {
  const targeting = readTargeting(f);
  if (targeting.targetModules !== null) {
    throw new PeftConfigError(`${f.path}: target_modules ${JSON.stringify(targeting.targetModules)} is not an option of ${peftType}: its parts sit where the architecture puts attention and feed-forward blocks; select layers with layers_to_transform`);
  }
  const reductionFactor = f.number('reduction_factor', 16);
  if (!(reductionFactor > 0) || !Number.isFinite(reductionFactor)) {
    throw new PeftConfigError(`${f.path}: reduction_factor ${JSON.stringify(f.raw.reduction_factor)} must be a positive number (the bottleneck is hidden size / reduction_factor; 16 is usual)`);
  }
  const scaling = f.number('scaling', defaults.scaling);
  if (!Number.isFinite(scaling)) throw new PeftConfigError(`${f.path}: scaling ${JSON.stringify(f.raw.scaling)} must be a finite number (He et al. use 4)`);
  const prefixInit = f.nullableString('prefix_init', null);
  if (prefixInit !== null && prefixInit !== 'zero') throw new PeftConfigError(`${f.path}: prefix_init must be 'zero' or null, not ${JSON.stringify(prefixInit)}`);
  return {
    ...readBase(f, peftType),
    ...targeting,
    numVirtualTokens: f.int('num_virtual_tokens', defaults.numVirtualTokens, 1),
    prefixProjection: f.bool('prefix_projection', false),
    encoderHiddenSize: f.nullableInt('encoder_hidden_size', null, 1),
    prefixInit,
    reductionFactor,
    nonLinearity: f.oneOf('non_linearity', NON_LINEARITIES, 'relu'),
    scaling,
    initWeights: f.oneOf('init_weights', INIT_WEIGHTS, 'zero'),
    modulesToSave: f.raw.modules_to_save === null || f.raw.modules_to_save === undefined ? null : f.strings('modules_to_save', []),
    extra: extraFields(f.raw as Json, known),
  };
}

export function writeHybrid(c: HybridConfig): Record<string, unknown> {
  return {
    ...c.extra,
    ...writeBase(c),
    ...writeTargeting(c),
    num_virtual_tokens: c.numVirtualTokens,
    prefix_projection: c.prefixProjection,
    encoder_hidden_size: c.encoderHiddenSize,
    prefix_init: c.prefixInit,
    reduction_factor: c.reductionFactor,
    non_linearity: c.nonLinearity,
    scaling: c.scaling,
    init_weights: c.initWeights,
    modules_to_save: c.modulesToSave,
  };
}
