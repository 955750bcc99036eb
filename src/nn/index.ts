// Neural-network building blocks.
export { Module, StateDictError, type LoadStateDictResult } from './module.js';
export { Parameter, isParameter } from './parameter.js';
export { ModuleList, Sequential, ModuleDict, ParameterDict } from './container.js';
export { cloneModule } from './clone.js';
export { Linear, Conv1D, type LinearOptions } from './linear.js';
export { PatchConv2d } from './conv.js';
export { Embedding } from './embedding.js';
export { LayerNorm, RMSNorm } from './norm.js';
export { Dropout } from './dropout.js';
export { LSTM, type LSTMOptions } from './lstm.js';
export { getActivation, type Activation } from './activation.js';
export * as init from './init.js';
export { withoutInit, isInitSkipped } from './init.js';
