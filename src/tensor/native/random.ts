export interface RandomKernels {
  /**
   * out[0, count) = mean + std · N(0, 1) from the counter-based generator (bind_random.cc): the
   * values depend only on the 64-bit seed (two 32-bit halves) and the index. dtypeCode: 0 float32,
   * 2 bfloat16, 3 float16.
   */
  randomNormal(out: Float32Array | Uint16Array, dtypeCode: number, count: number, mean: number, std: number, seedHigh: number, seedLow: number): void;
}
