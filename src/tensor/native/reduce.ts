// Filled in by the reduce kernels.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ReduceKernels {}
