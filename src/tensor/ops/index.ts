// Every op module; importing one attaches its methods to Tensor.prototype.
export * from './create-ops.js';
export * from './arith.js';
export * from './reduce.js';
export * from './views.js';
export * from './join.js';
export * from './indexing.js';
export * from './sorting.js';
export * from './products.js';
export * from './dropout.js';
export type { Operand, Scalar } from './elementwise-kernels.js';
export * from './matmul.js';
export * from './linalg.js';
export * from './softmax.js';
export * from './normalization.js';
export * from './loss.js';
export * from './rotary.js';
export * from './attention.js';
