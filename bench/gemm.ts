// GEMM speed: square sizes and transformer shapes (M x K x N), B in float32 and bf16, as GFLOP/s and
// as a fraction of the FMA peak measured in this process at the same thread count (at the start, and
// again after each shape: the higher of the two is the denominator).
// Usage: node --import tsx bench/gemm.ts [--threads N] [--runs 7] [--trans-b] [--shapes 1024x1024x1024,...]
//   [--b-types f32,bf16]
//   --shapes keeps the listed shapes (M x K x N, both layouts of a LoRA shape); --b-types the B formats.
//   --trans-b stores B as N x K (nn.Linear weights) instead of K x N. The LoRA shapes run in both
//   layouts anyway: a LoRA layer multiplies by its r x in and out x r weights stored N x K.
import { native } from '../src/tensor/native/index.js';
import { floatToBf16 } from '../src/tensor/half.js';
import { arg, emit, hasFlag, round } from './lib/report.js';
import { innerCalls, time } from './lib/timing.js';
import { fmaWidth, measureFmaPeak, randomFloats } from './lib/peak.js';

if (arg('threads')) native.setNumThreads(Number(arg('threads')));
const threads = native.numThreads();
const runs = Number(arg('runs') ?? 7);
const transBAll = hasFlag('trans-b');

const allShapes: [number, number, number, boolean?][] = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [2048, 2048, 2048],
  [1024, 768, 768],
  [1024, 768, 3072],
  [1024, 3072, 768],
  [1024, 768, 16],
  [1024, 16, 768],
  [1024, 768, 16, true],
  [1024, 16, 768, true],
  [128, 768, 2304], // prefill: a 128-token prompt through GPT-2's c_attn and (Bᵀ) the LM head
  [128, 768, 50257, true],
  // a 16-stream decode step through GPT-2's Conv1D weights (stored K x N): c_attn, c_fc, mlp.c_proj, attn.c_proj
  [16, 768, 2304],
  [16, 768, 3072],
  [16, 3072, 768],
  [16, 768, 768],
  [1, 4096, 4096],
];
const only = arg('shapes')?.split(',');
const shapes = only ? allShapes.filter(([m, k, n]) => only.includes(`${m}x${k}x${n}`)) : allShapes;
if (only && shapes.length === 0) throw new Error(`--shapes ${only.join(',')}: none of them is a shape of this bench`);
const bTypes = (arg('b-types')?.split(',') ?? ['f32', 'bf16']).map((name) => {
  if (name !== 'f32' && name !== 'bf16') throw new Error(`--b-types: "${name}" is not f32 or bf16`);
  return name === 'f32' ? 0 : 1;
});

const simd = native.simdLevel();
const width = fmaWidth();
const measurePeak = (seconds: number) => measureFmaPeak(threads, seconds);
const peak = measurePeak(0.5);
emit('fma_peak', { width, threads, gflops: round(peak) });

for (const bType of bTypes) {
  for (const [M, K, N, storedNK] of shapes) {
    const transB = storedNK ?? transBAll;
    const A = randomFloats(M * K);
    const Bf = randomFloats(K * N);
    const B = bType === 0 ? Bf : Uint16Array.from(Bf, floatToBf16);
    const C = new Float32Array(M * N);
    const ldb = transB ? K : N;
    const call = () => native.gemm(false, transB, M, N, K, 1, A, 0, K, 0, B, 0, bType, ldb, 0, 0, C, 0, N, 0, 1);
    const once = time(call, { warmup: 1, runs: 1 }).median;
    const inner = innerCalls(once);
    const cpuStart = process.cpuUsage();
    const t = time(call, { warmup: 2, runs, inner });
    const cpu = process.cpuUsage(cpuStart);
    // CPU seconds per call and thread: near the wall time when the threads have the cores to themselves.
    const cpuPerCall = (cpu.user + cpu.system) / 1e6 / (2 + runs * inner) / threads;
    const gflops = (2 * M * N * K) / t.median / 1e9;
    // On a shared machine the peak drifts: judge against the higher of the start's and a fresh one.
    const near = Math.max(peak, measurePeak(0.1));
    emit('gemm', {
      m: M,
      k: K,
      n: N,
      b_type: bType === 0 ? 'f32' : 'bf16',
      trans_b: transB,
      threads,
      simd,
      median_ms: round(t.median * 1e3),
      min_ms: round(t.min * 1e3),
      cpu_ms_per_thread: round(cpuPerCall * 1e3),
      gflops: round(gflops),
      peak_gflops: round(near),
      fraction_of_peak: round(gflops / near, 3),
    });
  }
}
