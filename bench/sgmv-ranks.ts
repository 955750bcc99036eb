// The grouped LoRA kernel (native sgmvLora) on a decode step of GPT-2 124M's shape, bf16 adapters on
// its 48 linear layers (each layer its own weights, so they stream from memory as in serving): 8 rows,
// two per adapter, ranks 8, 16, 32 and 64 against four rank-64 adapters. The target (serving,
// issue 11): the mixed batch costs in proportion to the sum of ranks, (8 + 16 + 32 + 64) / (4 x 64) =
// 0.469 of the four r64 ones, not as much (1, every group padded to the largest rank). bench/serve.ts
// measures the same end to end, where the adapters' part is a small difference of two noisy figures;
// here the kernel alone is timed, the two batches alternated --rounds times. Also against the base: the
// four r64 adapters' kernel time as a share of the step's base products (bf16 GEMMs of 8 rows).
// Usage: node --import tsx bench/sgmv-ranks.ts [--rounds 5] [--threads 2]
import { native } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';
import { innerCalls, time } from './lib/timing.js';

const rounds = Number(arg('rounds') ?? 5);
native.setNumThreads(Number(arg('threads') ?? 2));
const sgmv = native.sgmvLora!;

// GPT-2's adapted layers: c_attn 768 -> 2304, attn c_proj 768 -> 768, c_fc 768 -> 3072, mlp c_proj 3072 -> 768.
const SHAPES: [number, number][] = [
  [768, 2304],
  [768, 768],
  [768, 3072],
  [3072, 768],
];
const LAYERS = Array.from({ length: 12 }, () => SHAPES).flat();
const ROWS = 8;

const bf16 = (n: number) => Uint16Array.from({ length: n }, () => 0x3c00 + Math.floor(Math.random() * 256)); // small positive values

/** One decode step's adapter updates on every layer for adapters of these ranks, two rows each. */
function step(ranks: number[]): () => void {
  const per = ROWS / ranks.length;
  const layers = LAYERS.map(([inF, outF]) => ({
    inF,
    outF,
    x: Float32Array.from({ length: ROWS * inF }, () => Math.random() - 0.5),
    out: new Float32Array(ROWS * outF),
    a: ranks.map((r) => bf16(r * inF)),
    b: ranks.map((r) => bf16(outF * r)),
  }));
  const rows = Int32Array.from({ length: ROWS }, (_, i) => i);
  const starts = Int32Array.from({ length: ranks.length + 1 }, (_, i) => i * per);
  const rankArray = Int32Array.from(ranks);
  const scales = Float32Array.from(ranks, () => 2);
  return () => {
    for (const l of layers) sgmv(l.x, l.out, ROWS, 1, l.inF, l.outF, rows, starts, rankArray, scales, l.a, l.b);
  };
}

/** The step's base products: 8 rows against each layer's bf16 weight (stored out x in), as serving runs them. */
function baseStep(): () => void {
  const layers = LAYERS.map(([inF, outF]) => ({
    inF,
    outF,
    x: Float32Array.from({ length: ROWS * inF }, () => Math.random() - 0.5),
    w: bf16(outF * inF),
    y: new Float32Array(ROWS * outF),
  }));
  return () => {
    for (const l of layers)
      native.gemm(false, true, ROWS, l.outF, l.inF, 1, l.x, 0, l.inF, 0, l.w, 0, 1, l.inF, 0, 0, l.y, 0, l.outF, 0, 1);
  };
}

const mixed = step([8, 16, 32, 64]);
const four64 = step([64, 64, 64, 64]);
const base = baseStep();
const inner = innerCalls(time(four64, { warmup: 2, runs: 1 }).median, 0.1);
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const m = time(mixed, { warmup: 1, runs: 5, inner }).median;
  const f = time(four64, { warmup: 1, runs: 5, inner }).median;
  const b = time(base, { warmup: 1, runs: 5, inner }).median;
  ratios.push(m / f);
  emit('sgmv_ranks', {
    model: 'gpt2-124M',
    rows: ROWS,
    layers: LAYERS.length,
    adapter_dtype: 'bf16',
    threads: native.numThreads(),
    round: r,
    mixed_ms: round(m * 1e3),
    four_r64_ms: round(f * 1e3),
    base_products_ms: round(b * 1e3),
    mixed_over_four_r64: round(m / f, 3),
    four_r64_over_base: round(f / b, 3),
  });
}
ratios.sort((a, b) => a - b);
emit('sgmv_ranks_median', {
  model: 'gpt2-124M',
  rows: ROWS,
  rounds,
  threads: native.numThreads(),
  mixed_over_four_r64: round(ratios[ratios.length >> 1]!, 3),
  proportional_to_sum_of_ranks: 0.469,
  padded_to_largest: 1,
});
