// PEFT: adapters on Hugging Face models, file-compatible with HF PEFT.
export { PeftModel, getPeftModel, type PeftInputs } from './peft-model.js';
export { TunerModel, type MergeOptions } from './tuner-model.js';
export { TunerLayer, type BaseLayer } from './tuners/tuner-layer.js';
export { registerTuner, getTuner, tunerTypes, type TunerMethod } from './tuners/registry.js';
export { ModulesToSaveWrapper } from './modules-to-save.js';
export { makeConfig, configFromJson, type AdapterOptions, type ConfigInput } from './config/make-config.js';
export { TASK_TYPES, PEFT_FORMAT_VERSION, type TaskType, type BaseConfig as PeftBaseConfig } from './config/base.js';
export type { PeftConfig } from './config/peft-config.js';
export type { Targeting } from './config/targeting.js';
export { findTargets, matchesModule, layerIndex } from './target.js';
export { adapterStateDict, loadAdapterStateDict, SAVED_PREFIX } from './state-dict.js';
export { CONFIG_FILE as ADAPTER_CONFIG_FILE, WEIGHTS_FILE as ADAPTER_WEIGHTS_FILE } from './files.js';
export { withAdapterNames } from './mixed-batch.js';
export { combineTensors, magnitudePrune, randomPrune, type Combination, type CombineOptions, type MajoritySignMethod } from './merge-utils.js';
export { PeftConfigError, TargetModulesError, AdapterNameError, AdapterWeightsError } from './errors.js';
export * from './tuners/lora/index.js';
export * from './tuners/loha/index.js';
export * from './tuners/lokr/index.js';
