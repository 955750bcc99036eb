// LoHa (low-rank Hadamard product) as a tuner plug-in, registered under peft_type LOHA.
import type { Module } from '../../../nn/index.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { LORA_FAMILY_TARGETS } from '../default-targets.js';
import { injectLycoris, lycorisOptions } from '../lycoris/inject.js';
import { parseLoHaConfig, writeLoHaConfig, type LoHaConfig } from './config.js';
import { LoHaLinear, type LoHaLayerOptions } from './layer.js';

function layerOptions(config: LoHaConfig, path: string): LoHaLayerOptions {
  return { ...lycorisOptions(config, path), initWeights: config.initWeights };
}

export const loha: TunerMethod<LoHaConfig> = {
  peftType: 'LOHA',
  prefix: 'hada_',
  defaultTargets: { targetModules: LORA_FAMILY_TARGETS },
  parseConfig: parseLoHaConfig,
  writeConfig: writeLoHaConfig,
  inject(target: Module, path: string, name: string, config: LoHaConfig): Module {
    const options = layerOptions(config, path);
    return injectLycoris(
      target,
      path,
      'LoHa',
      LoHaLinear,
      (base) => new LoHaLinear(base, name, options),
      (layer) => layer.updateLayer(name, options),
    );
  },
};

registerTuner(loha);

export { LoHaLinear, type LoHaLayerOptions } from './layer.js';
export { parseLoHaConfig, writeLoHaConfig, type LoHaConfig, type LoHaOptions } from './config.js';
