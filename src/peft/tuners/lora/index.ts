// LoRA as a tuner plug-in: config, layer and injection, registered under peft_type LORA.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { isLinearLayer, patternValue } from '../../target.js';
import type { BaseLayer } from '../tuner-layer.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { LORA_FAMILY_TARGETS } from '../default-targets.js';
import { parseLoraConfig, writeLoraConfig, type LoraConfig } from './config.js';
import { LoraLinear, type LoraLayerOptions } from './layer.js';

function layerOptions(config: LoraConfig, path: string): LoraLayerOptions {
  return {
    r: patternValue(config.rankPattern, path) ?? config.r,
    loraAlpha: patternValue(config.alphaPattern, path) ?? config.loraAlpha,
    loraDropout: config.loraDropout,
    useRslora: config.useRslora,
    useDora: config.useDora,
    loraBias: config.loraBias,
    initLoraWeights: config.initLoraWeights,
    loftqConfig: config.loftqConfig,
  };
}

export const lora: TunerMethod<LoraConfig> = {
  peftType: 'LORA',
  prefix: 'lora_',
  defaultTargets: { targetModules: LORA_FAMILY_TARGETS },
  parseConfig: parseLoraConfig,
  writeConfig: writeLoraConfig,
  inject(target: Module, path: string, name: string, config: LoraConfig): Module {
    if (target instanceof LoraLinear) {
      target.updateLayer(name, layerOptions(config, path));
      return target;
    }
    if (target instanceof Linear || target instanceof Conv1D) return new LoraLinear(target, name, layerOptions(config, path));
    // Another method's layer around a linear one (adapters of several methods on one base); DoRA reads the base weight itself.
    if (isLinearLayer(target) && !config.useDora) return new LoraLinear(target as unknown as BaseLayer, name, layerOptions(config, path));
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; LoRA adapts Linear and Conv1D layers, so name those in target_modules`);
  },
  renameSaved: (key) => key.replace(/\.lora_magnitude_vector\.weight$/, '.lora_magnitude_vector'),
};

registerTuner(lora);

export { LoraLinear, type LoraLayerOptions } from './layer.js';
export { DoraMagnitude } from './dora.js';
export { parseLoraConfig, writeLoraConfig, type LoraConfig, type LoraOptions, type LoraInit } from './config.js';
export { addWeightedLoraAdapter, type CombinationType, type WeightedAdapterOptions } from './weighted.js';
