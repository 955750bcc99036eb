// Every op module; importing one attaches its methods to Tensor.prototype.
export * from './create-ops.js';
export * from './arith.js';
export * from './reduce.js';
export * from './views.js';
export type { Operand, Scalar } from './elementwise-kernels.js';
export * from './matmul.js';
