// UniPELT (Mao et al. 2022): LoRA on the attention's query and value, prefix tuning on the
// attention and a bottleneck adapter after the feed-forward block, each behind its own learned
// gate σ(W·x + b) read from the part's input (gate_L, gate_P, gate_A), as one adapter (peftjs's
// own peft_type UNIPELT).
import { Fields, type Json } from '../../config/base.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { HYBRID_KEYS, readHybrid, writeHybrid, type HybridConfig } from './config.js';
import { checkHybridFits, injectHybrid, releaseInnerLora, type HybridParts } from './inject.js';
import { hybridTargets } from './placements.js';

export interface UnipeltConfig extends HybridConfig {
  peftType: 'UNIPELT';
  r: number;
  loraAlpha: number;
  loraDropout: number;
}

export type UnipeltOptions = Partial<Omit<UnipeltConfig, 'peftType' | 'extra'>> & { peftType?: 'UNIPELT' };

/** Mao et al.'s settings: prefix length 10, LoRA r 8 with alpha 16, an unscaled adapter. */
const DEFAULTS = { numVirtualTokens: 10, scaling: 1 };
const KNOWN = [...HYBRID_KEYS, 'r', 'lora_alpha', 'lora_dropout'];

export function parseUnipeltConfig(raw: Json, path = 'adapter_config.json'): UnipeltConfig {
  const f = new Fields(raw, path);
  return {
    ...readHybrid(f, 'UNIPELT', DEFAULTS, KNOWN),
    peftType: 'UNIPELT',
    r: f.int('r', 8, 1),
    loraAlpha: f.number('lora_alpha', 16),
    loraDropout: f.probability('lora_dropout', 0),
  };
}

export function writeUnipeltConfig(c: UnipeltConfig): Record<string, unknown> {
  return { ...writeHybrid(c), r: c.r, lora_alpha: c.loraAlpha, lora_dropout: c.loraDropout };
}

function parts(c: UnipeltConfig): HybridParts {
  const lora = { r: c.r, loraAlpha: c.loraAlpha, loraDropout: c.loraDropout, useRslora: false, useDora: false, loraBias: false, initLoraWeights: true };
  return { gated: true, lora, adapterType: 'pfeiffer' };
}

export const unipelt: TunerMethod<UnipeltConfig> = {
  peftType: 'UNIPELT',
  prefix: 'prefix_',
  partPrefixes: ['prefix_', 'lora_', 'bottleneck_'],
  parseConfig: parseUnipeltConfig,
  writeConfig: writeUnipeltConfig,
  prepareConfig(config, tuner) {
    checkHybridFits(config, tuner.model, parts(config));
    return config;
  },
  selectTargets: (model, config) => hybridTargets(model, config, 'UNIPELT', 'pfeiffer'),
  inject: (target, path, name, config, tuner) => injectHybrid(target, path, name, config, tuner.model, parts(config)),
  releaseAdapter: releaseInnerLora,
};

registerTuner(unipelt);
