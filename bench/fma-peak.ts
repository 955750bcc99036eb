// FMA peak: GFLOP/s of in-register FMA chains for each SIMD width this CPU has, on 1 thread and on
// all of the kernels' threads. The ceiling that GEMM benchmarks are judged against.
// Usage: node --import tsx bench/fma-peak.ts [--seconds 0.5]
import { native } from '../src/tensor/native/index.js';
import { arg, emit, round } from './lib/report.js';

const seconds = Number(arg('seconds') ?? 0.5);
const all = native.numThreads();
for (const width of [128, 256, 512] as const) {
  for (const threads of all > 1 ? [1, all] : [1]) {
    let gflops: number;
    try {
      gflops = native.fmaPeak(width, threads, seconds);
    } catch {
      continue; // this width is not available here
    }
    emit('fma_peak', { width, threads, gflops: round(gflops), simd: native.simdLevel() });
  }
}
