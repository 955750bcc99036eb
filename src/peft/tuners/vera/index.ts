// VeRA (vector-based random matrix adaptation) as a tuner plug-in, registered under peft_type VERA.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { LORA_FAMILY_TARGETS } from '../default-targets.js';
import { parseVeraConfig, writeVeraConfig, type VeraConfig } from './config.js';
import { VeraLinear, type VeraLayerOptions } from './layer.js';
import { createProjections, projectionsOf, removeProjections } from './projections.js';

function layerOptions(config: VeraConfig): VeraLayerOptions {
  return { r: config.r, veraDropout: config.veraDropout, dInitial: config.dInitial, initWeights: config.initWeights };
}

export const vera: TunerMethod<VeraConfig> = {
  peftType: 'VERA',
  // HF's VeRA prefix: what marks its trained parameters (vera_A / vera_B are frozen buffers).
  prefix: 'vera_lambda',
  defaultTargets: { targetModules: LORA_FAMILY_TARGETS },
  parseConfig: parseVeraConfig,
  writeConfig: writeVeraConfig,
  prepareAdapter: createProjections,
  releaseAdapter: removeProjections,
  inject(target, path, name, config, tuner): Module {
    const projections = projectionsOf(tuner, name);
    if (target instanceof VeraLinear) {
      target.updateLayer(name, projections, layerOptions(config));
      return target;
    }
    if (target instanceof Linear || target instanceof Conv1D) return new VeraLinear(target, name, projections, layerOptions(config));
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; VeRA adapts Linear and Conv1D layers, so name those in target_modules`);
  },
};

registerTuner(vera);

export { VeraLinear, type VeraLayerOptions } from './layer.js';
export { BufferDict } from './projections.js';
export { parseVeraConfig, writeVeraConfig, type VeraConfig, type VeraOptions } from './config.js';
