// The NF4 few-row kernel alone (native.linear4bit, M = 1..8 rows of x, native/src/{avx512,avx2}/quant_*.cc):
// weight GB/s per call on a weight that stays in L2 (512 x 2048: the kernel's arithmetic, memory out of
// the way) and on Llama-3.2-1B's streamed shapes (8192 x 2048 gate/up, 2048 x 8192 down), on 1 thread
// and on all, with double quantisation (QLoRA's format) and without (float32 block absmax). The two
// absmax layouts run interleaved, call batch by call batch, in one process; records carry CPU seconds per
// call beside the wall time. Each layout runs twice: x in float32 (the float32 kernel) and x in bf16
// (compute dtype bf16: the bf16 kernel where the CPU has AVX512_BF16, else the same float32 kernel). A kernel that reaches the streamed read bandwidth per thread count
// (bench/quant.ts "bandwidth") is memory-bound in decode.
// Usage: node --import tsx bench/nf4-gemv.ts [--rows 1] [--runs 7]
import { native } from '../src/tensor/native/index.js';
import { quantizeState4 } from '../src/quant/functional.js';
import type { QuantState4 } from '../src/quant/state.js';
import { bf16ToFloat, floatToBf16 } from '../src/tensor/half.js';
import { randomFloats } from './lib/peak.js';
import { arg, emit, round } from './lib/report.js';

const M = Number(arg('rows') ?? 1);
const runs = Number(arg('runs') ?? 7);
const allThreads = native.numThreads();
const SHAPES: [string, number, number][] = [
  ['l2_resident', 512, 2048],
  ['gate_proj', 8192, 2048],
  ['down_proj', 2048, 8192],
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

for (const [name, N, K] of SHAPES) {
  const w = randomFloats(N * K);
  const dq = quantizeState4(w, [N, K], { quantType: 'nf4', blockSize: 64, doubleQuant: true });
  const fa = quantizeState4(w, [N, K], { quantType: 'nf4', blockSize: 64 });
  const layouts: [string, QuantState4, boolean][] = [
    ['double_quant', dq, false],
    ['double_quant_bf16x', dq, true],
    ['float_absmax', fa, false],
    ['float_absmax_bf16x', fa, true],
  ];
  const x = randomFloats(M * K).map((v) => bf16ToFloat(floatToBf16(v))); // exact in bf16 for both kernels
  const y = new Float32Array(M * N);
  const calls = Math.max(3, Math.round(2e8 / (N * K))); // ~0.1 s of weight per batch
  for (const threads of allThreads > 1 ? [1, allThreads] : [1]) {
    native.setNumThreads(threads);
    const wall: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    for (let r = 0; r <= runs; r++) {
      for (const [layout, state, bf16X] of layouts) {
        const c0 = process.cpuUsage();
        const start = performance.now();
        for (let i = 0; i < calls; i++) native.linear4bit(x, M, state, null, y, bf16X);
        const seconds = (performance.now() - start) / 1e3 / calls;
        const used = process.cpuUsage(c0);
        if (r === 0) continue; // warm-up
        (wall[layout] ??= []).push(seconds);
        (cpu[layout] ??= []).push((used.user + used.system) / 1e6 / calls);
      }
    }
    for (const [layout, state] of layouts) {
      const bytes = state.packed.length;
      emit('nf4_gemv', {
        shape: name,
        N,
        K,
        rows: M,
        layout,
        threads,
        simd: native.simdLevel(),
        us_per_call: round(median(wall[layout]!) * 1e6),
        cpu_us_per_call: round(median(cpu[layout]!) * 1e6),
        weight_gb_per_s: round(bytes / median(wall[layout]!) / 1e9),
        best_weight_gb_per_s: round(bytes / Math.min(...wall[layout]!) / 1e9),
      });
    }
  }
}
native.setNumThreads(allThreads);
