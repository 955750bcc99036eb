// AdaLoRA as a tuner plug-in, registered under peft_type ADALORA: SVD-form LoRA layers whose rank
// budget a RankAllocator shrinks during training (call updateAndAllocate every step), with the
// orthogonality regulariser added to the loss by PeftModel.forward.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { PeftConfigError, TargetModulesError } from '../../errors.js';
import type { TunerModel } from '../../tuner-model.js';
import { allocateRanks, allocationState, loadAllocationState } from './update.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { ADALORA_TARGETS } from './default-targets.js';
import { parseAdaLoraConfig, writeAdaLoraConfig, type AdaLoraConfig } from './config.js';
import { AdaLoraLinear, type AdaLoraLayerOptions } from './layer.js';
import { orthogonalLoss } from './orthogonal.js';
import { keptTriplets } from './saved.js';
import { patternKey } from './trainable.js';

/** A module listed in rank_pattern (a saved adapter) has only its kept triplets, but keeps init_r as ranknum (as HF resizes it). */
function layerOptions(config: AdaLoraConfig, path: string): AdaLoraLayerOptions {
  const keep = config.rankPattern?.[patternKey(path)];
  return {
    r: keep === undefined ? config.initR : keep.filter(Boolean).length,
    ranknum: config.initR,
    loraAlpha: config.loraAlpha,
    loraDropout: config.loraDropout,
    initLoraWeights: config.initLoraWeights,
  };
}

/** HF's rule: one AdaLoRA adapter trains (the allocator follows one); the others are loaded for inference. */
function checkOneTrainable(tuner: TunerModel, name: string, config: AdaLoraConfig): void {
  if (config.inferenceMode) return;
  const other = [...tuner.configs].find(([n, c]) => n !== name && !c.inferenceMode);
  if (other !== undefined) {
    throw new PeftConfigError(
      `AdaLoRA trains one adapter at a time and '${other[0]}' is trainable; add '${name}' with inferenceMode: true, or delete '${other[0]}' first`,
    );
  }
}

export const adalora: TunerMethod<AdaLoraConfig> = {
  peftType: 'ADALORA',
  prefix: 'lora_',
  defaultTargets: { targetModules: ADALORA_TARGETS },
  parseConfig: parseAdaLoraConfig,
  writeConfig: writeAdaLoraConfig,
  inject(target: Module, path: string, name: string, config: AdaLoraConfig, tuner: TunerModel): Module {
    checkOneTrainable(tuner, name, config);
    if (target instanceof AdaLoraLinear) {
      target.updateLayer(name, layerOptions(config, path));
      return target;
    }
    if (target instanceof Linear || target instanceof Conv1D) return new AdaLoraLinear(target, name, layerOptions(config, path));
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; AdaLoRA adapts Linear and Conv1D layers, so name those in target_modules`);
  },
  extraLoss: orthogonalLoss,
  afterOptimizerStep: allocateRanks,
  trainingState: allocationState,
  loadTrainingState: loadAllocationState,
  savedTensors: keptTriplets,
};

registerTuner(adalora);

export { AdaLoraLinear, type AdaLoraLayerOptions } from './layer.js';
export { parseAdaLoraConfig, writeAdaLoraConfig, type AdaLoraConfig, type AdaLoraOptions, type RankMasks } from './config.js';
export { RankAllocator, type ImportanceAverages } from './allocator.js';
export { budgetAt, type Budget, type BudgetSchedule } from './budget.js';
export { updateAndAllocate, rankAllocator } from './update.js';
export { adaloraOrthogonalLoss } from './orthogonal.js';
