// Filled in by the gemm kernels.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface GemmKernels {}
