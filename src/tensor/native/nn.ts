// Filled in by the nn kernels.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NnKernels {}
