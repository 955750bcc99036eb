export { Optimizer, type GroupOptions, type ParamGroup, type ParamsInput, type ParamState, type OptimizerStateDict } from './optimizer.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWOptions } from './adamw.js';
export { SGD, SGD_DEFAULTS, type SGDOptions } from './sgd.js';
export { parameterGroups, noDecayByDefault, type ParamGroupOptions, type NamedParamGroup } from './param-groups.js';
