// The tensor engine's public surface. Importing it attaches every op to Tensor.prototype.
export { Tensor, type GradNode } from './tensor.js';
export { type DType, type TypedArray, isFloating, promoteTypes, checkDType } from './dtype.js';
export * from './errors.js';
export { noGrad, enableGrad, isGradEnabled } from './grad-mode.js';
export { tidy, keep } from './scope.js';
export { memoryStats, clearPool } from './storage.js';
export { checkpoint, registerCheckpointContext, type CheckpointContext } from './checkpoint.js';
export { backward, consumable, isConsumable, record, releaseUnread, needsGrad, type BackwardOptions, type BackwardFn } from './autograd.js';
export { Generator, defaultGenerator, manualSeed, withGenerator, randn, normalFill_, rand, bernoulli, randint, randperm, type RandomOptions } from './random.js';
export { TorchCpuGenerator } from './torch-generator.js';
export * from './ops/index.js';
export { native, backendInfo, type BackendInfo } from './native/index.js';
export { WASM_MEMORY_LIMIT, createWasmBackend, ensureFits, WasmMemoryLimitError, type WasmBackendOptions, type WasmFactory } from './native/wasm/backend.js';
