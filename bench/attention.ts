// Flash attention speed: forward and backward at B=1, H=12, D=64, T = 256 and 1024, causal and not,
// float32, as GFLOP/s and as a fraction of the FMA peak measured in this process. Flops counted:
// forward 4*B*H*Tq*Tk*D (QK^T and PV), backward 2.5x that, both halved under a causal mask.
// Usage: node --import tsx bench/attention.ts [--threads N] [--runs 7]
import { native } from '../src/tensor/native/index.js';
import { arg, emit, round } from './lib/report.js';
import { innerCalls, time } from './lib/timing.js';
import { fmaWidth, measureFmaPeak, randomFloats } from './lib/peak.js';

if (arg('threads')) native.setNumThreads(Number(arg('threads')));
const threads = native.numThreads();
const runs = Number(arg('runs') ?? 7);
const [B, H, D] = [1, 12, 64];

const simd = native.simdLevel();
const width = fmaWidth();
const measurePeak = (seconds: number) => measureFmaPeak(threads, seconds);
const peak = measurePeak(0.5);
emit('fma_peak', { width, threads, gflops: round(peak) });

for (const T of [256, 1024]) {
  for (const causal of [false, true]) {
    const n = B * H * T * D;
    const [q, k, v, gOut] = [randomFloats(n), randomFloats(n), randomFloats(n), randomFloats(n)];
    const [out, lse, gq, gk, gv] = [
      new Float32Array(n),
      new Float32Array(B * H * T),
      ...[0, 1, 2].map(() => new Float32Array(n)),
    ];
    const opts = [B, H, H, T, T, D, 1 / Math.sqrt(D), causal, 0, 1, 1, 0, 0] as const;
    const forward = () => native.attentionForward(q, k, v, null, null, out, lse, ...opts, T);
    const backward = () => native.attentionBackward(q, k, v, null, null, out, lse, gOut, gq, gk, gv, null, ...opts);
    const fwdFlops = (4 * B * H * T * T * D) / (causal ? 2 : 1);
    const timeOf = (fn: () => void) =>
      time(fn, { warmup: 2, runs, inner: innerCalls(time(fn, { warmup: 1, runs: 1 }).median) });
    const f = timeOf(forward);
    const b = timeOf(backward);
    const near = Math.max(peak, measurePeak(0.1));
    const gflops = (3.5 * fwdFlops) / (f.median + b.median) / 1e9;
    emit('attention', {
      b: B,
      h: H,
      t: T,
      d: D,
      causal,
      threads,
      simd,
      fwd_ms: round(f.median * 1e3),
      bwd_ms: round(b.median * 1e3),
      fwd_bwd_s: round(f.median + b.median),
      fwd_gflops: round(fwdFlops / f.median / 1e9),
      bwd_gflops: round((2.5 * fwdFlops) / b.median / 1e9),
      gflops: round(gflops),
      peak_gflops: round(near),
      fraction_of_peak: round(gflops / near, 3),
    });
  }
}
