// MAM adapter (He et al. 2022, "Towards a Unified View of Parameter-Efficient Transfer
// Learning"): prefix tuning on every attention layer plus a scaled parallel adapter (s = 4) beside
// every feed-forward block, as one adapter (peftjs's own peft_type MAM).
import { Fields, type Json } from '../../config/base.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { HYBRID_KEYS, readHybrid, writeHybrid, type HybridConfig } from './config.js';
import { checkHybridFits, injectHybrid, type HybridParts } from './inject.js';
import { hybridTargets } from './placements.js';

export interface MamConfig extends HybridConfig {
  peftType: 'MAM';
}

export type MamOptions = Partial<Omit<MamConfig, 'peftType' | 'extra'>> & { peftType?: 'MAM' };

/** He et al.'s MAM: prefix length 30, parallel adapter scaled by 4. */
const DEFAULTS = { numVirtualTokens: 30, scaling: 4 };
const PARTS: HybridParts = { gated: false, lora: null, adapterType: 'scaled_parallel' };

export function parseMamConfig(raw: Json, path = 'adapter_config.json'): MamConfig {
  return { ...readHybrid(new Fields(raw, path), 'MAM', DEFAULTS, HYBRID_KEYS), peftType: 'MAM' };
}

export const mam: TunerMethod<MamConfig> = {
  peftType: 'MAM',
  prefix: 'prefix_',
  partPrefixes: ['prefix_', 'bottleneck_'],
  parseConfig: parseMamConfig,
  writeConfig: writeHybrid,
  prepareConfig(config, tuner) {
    checkHybridFits(config, tuner.model, PARTS);
    return config;
  },
  selectTargets: (model, config) => hybridTargets(model, config, 'MAM', PARTS.adapterType),
  inject: (target, path, name, config, tuner) => injectHybrid(target, path, name, config, tuner.model, PARTS),
};

registerTuner(mam);
