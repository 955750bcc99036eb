export interface InfoKernels {
  /**
   * The SIMD level the kernels use: 'avx512', 'avx2' or 'portable' (native); 'simd128', or
   * 'relaxed-simd' where the engine has relaxed SIMD and the GEMM multiply-adds with it (wasm).
   */
  simdLevel(): 'avx512' | 'avx2' | 'portable' | 'simd128' | 'relaxed-simd';
  /** Threads the kernels use (PEFTJS_NUM_THREADS, else the CPUs this process may run on). */
  numThreads(): number;
  setNumThreads(n: number): void;
}
