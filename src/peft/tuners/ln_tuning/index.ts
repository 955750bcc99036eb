// LayerNorm tuning (Zhao et al. 2023) as a tuner plug-in, registered under peft_type LN_TUNING.
import { LayerNorm, RMSNorm, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { LN_TUNING_TARGETS } from './default-targets.js';
import { parseLnTuningConfig, writeLnTuningConfig, type LnTuningConfig } from './config.js';
import { LnTuningLayer } from './layer.js';

export const lnTuning: TunerMethod<LnTuningConfig> = {
  peftType: 'LN_TUNING',
  prefix: 'ln_tuning_',
  defaultTargets: { targetModules: LN_TUNING_TARGETS },
  parseConfig: parseLnTuningConfig,
  writeConfig: writeLnTuningConfig,
  inject(target: Module, path: string, name: string): Module {
    if (target instanceof LnTuningLayer) {
      target.updateLayer(name);
      return target;
    }
    if (target instanceof LayerNorm || target instanceof RMSNorm) return new LnTuningLayer(target, name);
    throw new TargetModulesError(
      `'${path}' is a ${target.constructor.name}; LN tuning adapts normalisation layers (LayerNorm, RMSNorm), so name those in target_modules ` +
        `(e.g. ['input_layernorm', 'post_attention_layernorm', 'norm'] for Llama, ['ln_1', 'ln_2', 'ln_f'] for GPT-2)`,
    );
  },
};

registerTuner(lnTuning);

export { LnTuningLayer, type NormLayer } from './layer.js';
export { ReplacingLayer } from './replacing-layer.js';
export { parseLnTuningConfig, writeLnTuningConfig, readModulesToSave, type LnTuningConfig, type LnTuningOptions } from './config.js';
