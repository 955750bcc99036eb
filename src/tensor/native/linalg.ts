// Filled in by the linear-algebra kernels.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LinalgKernels {}
