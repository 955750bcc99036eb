// LoKr (low-rank Kronecker product) as a tuner plug-in, registered under peft_type LOKR.
import type { Module } from '../../../nn/index.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { LORA_FAMILY_TARGETS } from '../default-targets.js';
import { injectLycoris, lycorisOptions } from '../lycoris/inject.js';
import { parseLoKrConfig, writeLoKrConfig, type LoKrConfig } from './config.js';
import { LoKrLinear, type LoKrLayerOptions } from './layer.js';

function layerOptions(config: LoKrConfig, path: string): LoKrLayerOptions {
  return {
    ...lycorisOptions(config, path),
    initWeights: config.initWeights,
    decomposeBoth: config.decomposeBoth,
    decomposeFactor: config.decomposeFactor,
    rankDropoutScale: config.rankDropoutScale,
  };
}

export const lokr: TunerMethod<LoKrConfig> = {
  peftType: 'LOKR',
  prefix: 'lokr_',
  defaultTargets: { targetModules: LORA_FAMILY_TARGETS },
  parseConfig: parseLoKrConfig,
  writeConfig: writeLoKrConfig,
  inject(target: Module, path: string, name: string, config: LoKrConfig): Module {
    const options = layerOptions(config, path);
    return injectLycoris(
      target,
      path,
      'LoKr',
      LoKrLinear,
      (base) => new LoKrLinear(base, name, options),
      (layer) => layer.updateLayer(name, options),
    );
  },
};

registerTuner(lokr);

export { LoKrLinear, type LoKrLayerOptions } from './layer.js';
export { factorization } from './factorization.js';
export { parseLoKrConfig, writeLoKrConfig, type LoKrConfig, type LoKrOptions, type LoKrInit } from './config.js';
