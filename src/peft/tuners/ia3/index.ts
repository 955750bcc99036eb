// (IA)³ as a tuner plug-in, registered under peft_type IA3.
import type { Module } from '../../../nn/index.js';
import { isLinearLayer } from '../../target.js';
import type { BaseLayer } from '../tuner-layer.js';
import { TargetModulesError } from '../../errors.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { IA3_FEEDFORWARD, IA3_TARGETS } from './default-targets.js';
import { isFeedforward, parseIa3Config, writeIa3Config, type Ia3Config } from './config.js';
import { Ia3Linear } from './layer.js';

export const ia3: TunerMethod<Ia3Config> = {
  peftType: 'IA3',
  prefix: 'ia3_',
  defaultTargets: { targetModules: IA3_TARGETS, feedforwardModules: IA3_FEEDFORWARD },
  parseConfig: parseIa3Config,
  writeConfig: writeIa3Config,
  inject(target: Module, path: string, name: string, config: Ia3Config): Module {
    const feedforward = isFeedforward(config, path);
    if (target instanceof Ia3Linear) {
      if (target.isFeedforward !== feedforward) {
        throw new TargetModulesError(
          `'${path}' scales its ${target.isFeedforward ? 'input' : 'output'} for the adapters it has; adapter '${name}' would scale its ` +
            `${feedforward ? 'input' : 'output'}: give every IA3 adapter the same feedforward_modules`,
        );
      }
      target.updateLayer(name, config.initIa3Weights);
      return target;
    }
    // Also another method's layer around a linear one (adapters of several methods on one base).
    if (isLinearLayer(target)) return new Ia3Linear(target as BaseLayer, feedforward, name, config.initIa3Weights);
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; IA3 adapts Linear and Conv1D layers, so name those in target_modules`);
  },
};

registerTuner(ia3);

export { Ia3Linear } from './layer.js';
export { parseIa3Config, writeIa3Config, type Ia3Config, type Ia3Options } from './config.js';
