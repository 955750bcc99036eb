// The FMA peak measured in this process (the ceiling benchmarks are judged against), and random inputs.
import { native } from '../../src/index.js';

/** GFLOP/s of the widest FMA loop this CPU runs, on `threads` threads (NaN with portable kernels). */
export function measureFmaPeak(threads = native.numThreads(), seconds = 0.5): number {
  const simd = native.simdLevel();
  return simd === 'portable' ? NaN : native.fmaPeak(fmaWidth(), threads, seconds);
}

/** The SIMD width (bits) the kernels use. */
export function fmaWidth(): 256 | 512 {
  return native.simdLevel() === 'avx512' ? 512 : 256;
}

/** n floats uniform in [-1, 1). */
export function randomFloats(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

/**
 * n random floats in memory mapped as tensors' is (native allocBuffer: its own mapping, transparent
 * huge pages asked for), for native.streamRead: the bandwidth figure is then the one a kernel reading
 * a weight can reach. On a Sapphire Rapids VM a JS-allocated Float32Array read at 22-24 GB/s where the
 * same sum over this memory read 29-32, as the models' bf16 LM head does (30 GB/s).
 */
export function streamBuffer(n: number): Float32Array {
  const out = new Float32Array(native.allocBuffer(n * 4, false));
  out.set(randomFloats(n));
  return out;
}
