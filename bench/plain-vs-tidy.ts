// Plain code against tidy() code: `a.matmul(b)` at 1024³ in a loop that drops every result to the
// garbage collector, the same inside tidy(), and with `using`. Rounds interleave the three so machine
// noise hits each alike; a first plain round (untimed) lets the collector hand memory back once.
// Reported per style: median GFLOP/s over the rounds, CPU ms per product (all threads, user + system)
// and minor page faults per product (a fresh, untouched 4 MiB result costs ~1,000). Then a plain
// loop of GPT-2-shaped forwards with a loss (gradients recorded, never disposed), and the growth
// of the resident size over it. Target: plain ≥ 0.9× tidy.
// Usage: node --import tsx bench/plain-vs-tidy.ts [--size 1024] [--iters 40] [--rounds 5] [--forwards 1000]
import { GPT2LMHeadModel, manualSeed, native, randint, randn, tidy } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';

const n = Number(arg('size') ?? 1024);
const iters = Number(arg('iters') ?? 40);
const rounds = Number(arg('rounds') ?? 5);
const forwards = Number(arg('forwards') ?? 1000);

interface Sample {
  gflops: number;
  cpuMs: number;
  faults: number;
}

/** Runs `step` `iters` times; GFLOP/s of the wall time, CPU ms and page faults per step. */
function measure(step: () => void, flops: number): Sample {
  const before = process.resourceUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) step();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const after = process.resourceUsage();
  const cpuMicros = after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime;
  return {
    gflops: (flops * iters) / seconds / 1e9,
    cpuMs: cpuMicros / 1e3 / iters,
    faults: (after.minorPageFault - before.minorPageFault) / iters,
  };
}

const median = (values: number[]): number => {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

manualSeed(0);
const a = randn([n, n]);
const b = randn([n, n]);
const styles: Record<string, () => void> = {
  plain: () => void a.matmul(b),
  tidy: () => tidy(() => void a.matmul(b)),
  using: () => {
    using c = a.matmul(b);
    void c;
  },
};
const samples: Record<string, Sample[]> = { plain: [], tidy: [], using: [] };
measure(styles.plain!, 0);
for (let r = 0; r < rounds; r++) {
  for (const [name, step] of Object.entries(styles)) samples[name]!.push(measure(step, 2 * n ** 3));
}
const gflops = (name: string) => median(samples[name]!.map((s) => s.gflops));
for (const name of Object.keys(styles)) {
  emit('plain_vs_tidy_matmul', {
    style: name,
    m: n,
    k: n,
    n,
    threads: native.numThreads(),
    simd: native.simdLevel(),
    gflops: round(gflops(name)),
    cpu_ms_per_product: round(median(samples[name]!.map((s) => s.cpuMs))),
    page_faults_per_product: round(median(samples[name]!.map((s) => s.faults))),
    of_tidy: round(gflops(name) / gflops('tidy'), 3),
  });
}

// Plain forwards with a loss: every activation, the graph and the loss are left to the collector.
const config = gpt2SmallConfig({ n_layer: 2, n_embd: 128, n_head: 4, vocab_size: 1024, n_positions: 64 });
const model = new GPT2LMHeadModel(config);
const ids = randint(0, config.vocab_size, [2, 32]);
const forward = () => void model.forward({ inputIds: ids, labels: ids }).loss!.item();
for (let i = 0; i < forwards / 5; i++) forward();
const rssStart = process.memoryUsage().rss;
let rssPeak = rssStart;
const start = process.hrtime.bigint();
for (let i = 0; i < forwards; i++) {
  forward();
  if (i % 50 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
emit('plain_forwards_rss', {
  forwards,
  layers: config.n_layer,
  width: config.n_embd,
  batch: 2,
  seq: 32,
  ms_per_forward: round((seconds / forwards) * 1e3),
  rss_start_mb: round(rssStart / 2 ** 20),
  rss_peak_growth_mb: round((rssPeak - rssStart) / 2 ** 20),
  rss_end_growth_mb: round((process.memoryUsage().rss - rssStart) / 2 ** 20),
});
