// Filled in by the elementwise kernels.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ElementwiseKernels {}
