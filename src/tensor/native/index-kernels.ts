// Filled in by the index kernels (gather/scatter, sort, cumsum).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface IndexKernels {}
