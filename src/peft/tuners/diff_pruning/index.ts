// Diff pruning (Guo, Rush & Kim 2021: a learned sparse difference on the weights) as a tuner
// plug-in, registered under peft_type DIFF_PRUNING.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { l0Penalty } from './budget.js';
import { parseDiffPruningConfig, writeDiffPruningConfig, type DiffPruningConfig } from './config.js';
import { DiffPruningLayer, type DiffPruningLayerOptions } from './layer.js';

function layerOptions(config: DiffPruningConfig): DiffPruningLayerOptions {
  return {
    gate: { left: config.gateLeft, right: config.gateRight, temperature: config.gateTemperature },
    initLogAlpha: config.initLogAlpha,
    finalized: config.finalized,
  };
}

export const diffPruning: TunerMethod<DiffPruningConfig> = {
  peftType: 'DIFF_PRUNING',
  prefix: 'diff_',
  parseConfig: parseDiffPruningConfig,
  writeConfig: writeDiffPruningConfig,
  inject(target: Module, path: string, name: string, config: DiffPruningConfig): Module {
    if (target instanceof DiffPruningLayer) {
      target.updateLayer(name, layerOptions(config));
      return target;
    }
    if (target instanceof Linear || target instanceof Conv1D) return new DiffPruningLayer(target, name, layerOptions(config));
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; diff pruning adapts Linear and Conv1D weights, so name those in target_modules`);
  },
  extraLoss: l0Penalty,
};

registerTuner(diffPruning);

export { DiffPruningLayer, type DiffPruningLayerOptions } from './layer.js';
export { hardConcrete, openProbability, type GateShape } from './gate.js';
export { l0Penalty, diffDensity, finalizeDiffPruning } from './budget.js';
export { parseDiffPruningConfig, writeDiffPruningConfig, type DiffPruningConfig, type DiffPruningOptions } from './config.js';
