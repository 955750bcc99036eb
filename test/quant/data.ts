// Deterministic test data for the quantisation kernels.

/** Normal-ish float32 numbers (sum of four uniforms, centred), reproducible from a seed. */
export function gaussian(seed: number, n: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => Math.fround(u() + u() + u() + u() - 2));
}
