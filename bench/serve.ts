// peft serve's engine on the GPT-2 124M shape in bf16 with r = 16 LoRA adapters on every linear
// layer (random weights, nothing downloaded), against batch-1 PeftModel.generate one request after
// another; mixed adapters, ranks and methods; adapter loading. Each record: generated tokens/s,
// wall and CPU seconds (CPU per thread = cpu_s / wall_s / threads), load1.
// The ratio targets (mixed, registered, families, ranks) run --rounds interleaved rounds and end with a
// `_median` record (median of the rounds' wall and CPU ratios): one round of two was not a figure.
// Usage: node --import tsx bench/serve.ts [--tokens 32] [--streams 1,4,16,64] [--rounds 2] [--only throughput,mixed,...]
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT2LMHeadModel, getPeftModel, native, tensor, cloneModule, PeftModel, type Tensor } from '../src/index.js';
import { Service } from '../src/serve/service.js';
import { DEFAULT_SAMPLING } from '../src/serve/sampling-params.js';
import { arg, emit, round } from './lib/report.js';
import { gpt2SmallConfig } from './lib/models.js';

const TOKENS = Number(arg('tokens') ?? 32);
const STREAMS = (arg('streams') ?? '1,4,16,64').split(',').map(Number);
const ONLY = arg('only')?.split(',') ?? null;
const ROUNDS = Number(arg('rounds') ?? 2);
const PROMPT = 16;
const want = (name: string) => ONLY === null || ONLY.includes(name);
const config = gpt2SmallConfig();
const base = new GPT2LMHeadModel(config, 'bfloat16');
const threads = native.numThreads();
const dir = await mkdtemp(join(tmpdir(), 'peft-bench-serve-'));
const lora = (r: number, extra: object = {}) => ({ peftType: 'LORA', r, loraAlpha: 2 * r, targetModules: ['c_attn', 'c_proj', 'c_fc'], initLoraWeights: false, ...extra });

/** Saves an adapter made with `config` (random weights) as dir/name. */
async function makeAdapter(name: string, adapterConfig: object): Promise<string> {
  const peft = getPeftModel(cloneModule(base, { shareTensors: true }), adapterConfig as never, name);
  await peft.savePretrained(join(dir, 'tmp'));
  await rename(join(dir, 'tmp', name), join(dir, name));
  peft.deleteAdapter(name);
  return name;
}

function service(adapterDirs = [dir], maxAdapterMb = 4096): Service {
  return Service.create(base, null, { servedModelName: 'gpt2', adapterDirs, kvCacheMb: 1024, maxNumSeqs: 64, maxAdapterMb, eosTokenIds: [] });
}

const prompt = (i: number) => Array.from({ length: PROMPT }, (_, j) => (i * 7919 + j * 104729) % config.vocab_size);

interface Run { tokens_per_s: number; wall_s: number; cpu_s: number; ttft_p50_ms: number; ttft_p99_ms: number; itl_p50_ms: number; itl_p99_ms: number }

/** Sends one request per model name at once, each generating TOKENS; measures until all are done. */
async function streams(s: Service, models: readonly string[]): Promise<Run> {
  for (const m of new Set(models)) if (m !== s.modelName) {
    await s.registry.acquire(m);
    s.registry.release(m);
  }
  const ttft: number[] = [];
  const itl: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(models.map((m, i) => new Promise<void>((resolve, reject) => {
    let last = start;
    s.submit(m, prompt(i), { ...DEFAULT_SAMPLING, temperature: 0, maxTokens: TOKENS }, {
      onOutput: () => {
        const now = performance.now();
        (last === start ? ttft : itl).push(now - last);
        last = now;
      },
      onFinish: () => resolve(),
    }).catch(reject);
  })));
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    tokens_per_s: round((models.length * TOKENS) / wall), wall_s: round(wall), cpu_s: round((used.user + used.system) / 1e6),
    ttft_p50_ms: round(pct(ttft, 0.5)), ttft_p99_ms: round(pct(ttft, 0.99)), itl_p50_ms: round(pct(itl, 0.5)), itl_p99_ms: round(pct(itl, 0.99)),
  };
}

/** The median of each listed field over the rounds' records, as one record. */
function emitMedian(bench: string, rounds: Record<string, number>[], fields: readonly string[], extra: object = {}): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  emit(`${bench}_median`, { ...common, rounds: rounds.length, ...extra, ...Object.fromEntries(fields.map((f) => [f, round(median(rounds.map((r) => r[f]!)), 3)])) });
}

function pct(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Batch-1 PeftModel.generate, one request after another. */
async function solo(adapter: string, requests: number): Promise<Run> {
  const peft = await PeftModel.fromPretrained(cloneModule(base, { shareTensors: true }), join(dir, adapter));
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    const out: Tensor = peft.generate(tensor(prompt(i), [1, PROMPT], 'int64'), { maxNewTokens: TOKENS, eosTokenId: [] });
    out.dispose();
  }
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { tokens_per_s: round((requests * TOKENS) / wall), wall_s: round(wall), cpu_s: round((used.user + used.system) / 1e6), ttft_p50_ms: NaN, ttft_p99_ms: NaN, itl_p50_ms: NaN, itl_p99_ms: NaN };
}

const common = { model: 'gpt2-124M', dtype: 'bf16', tokens: TOKENS, prompt: PROMPT, threads };
const names16: string[] = [];
for (let i = 0; i < 16; i++) names16.push(await makeAdapter(`lora${i}`, lora(16)));

/** One untimed pass (first calls of each kernel shape, the thread pool, the allocator's pool). */
async function warmUp(s: Service): Promise<void> {
  await streams(s, ['lora0', 'gpt2', 'lora0', 'gpt2']);
}

// Cheap targets first, so that a run under a time limit keeps them.
if (want('cold')) {
  // A budget of one adapter: every acquire of another name reads it from disk.
  const s = service([dir], 1);
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < 48; i++) {
    const name = names16[i % 16]!;
    const cpu = process.cpuUsage();
    const start = performance.now();
    await s.registry.acquire(name);
    times.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpuTimes.push((used.user + used.system) / 1000);
    s.registry.release(name);
  }
  emit('serve_cold_load', {
    ...common, adapter: 'r16 all linear (c_attn, c_proj, c_fc), f32 file', loads: times.length, p50_ms: round(pct(times, 0.5)), p99_ms: round(pct(times, 0.99)), max_ms: round(Math.max(...times)),
    // Process CPU time per load (all threads): what the load costs apart from waiting for a core.
    cpu_p50_ms: round(pct(cpuTimes, 0.5)), cpu_p99_ms: round(pct(cpuTimes, 0.99)),
  });
}

if (want('throughput')) {
  await solo('lora0', 1);
  const baseline = await solo('lora0', 2);
  emit('serve_solo_generate', { ...common, adapter: 'r16', ...baseline });
  const s = service();
  await warmUp(s);
  // The widest batch once untimed too: its first prefill of every prompt at once meets new GEMM shapes and buffer sizes.
  await streams(s, Array.from({ length: Math.max(...STREAMS) }, () => 'lora0'));
  for (const n of STREAMS) {
    const r = await streams(s, Array.from({ length: n }, () => 'lora0'));
    emit('serve_streams', { ...common, streams: n, adapter: 'one r16', ...r, over_solo: round(r.tokens_per_s / baseline.tokens_per_s, 3) });
  }
}

/** Runs `fn` with LoRA's grouped kernel (native sgmvLora) hidden, so mixed batches take the per-group path. */
async function withoutGroupedKernel<T>(fn: () => Promise<T>): Promise<T> {
  const kernel = native.sgmvLora;
  native.sgmvLora = undefined;
  try {
    return await fn();
  } finally {
    native.sgmvLora = kernel;
  }
}

if (want('mixed')) {
  const s = service();
  await warmUp(s);
  // Interleaved rounds, so that load changes hit both.
  const mixed: Record<string, number>[] = [];
  const unmerged: Record<string, number>[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const one = await streams(s, Array.from({ length: 8 }, () => 'lora0'));
    const eight = await streams(s, names16.slice(0, 8));
    const m = { one_adapter_tok_s: one.tokens_per_s, eight_adapters_tok_s: eight.tokens_per_s, ratio: round(eight.tokens_per_s / one.tokens_per_s, 3), cpu_s_one: one.cpu_s, cpu_s_eight: eight.cpu_s, cpu_ratio: round(one.cpu_s / eight.cpu_s, 3) };
    mixed.push(m);
    emit('serve_mixed_8', { ...common, streams: 8, ...m });
    const perGroup = await withoutGroupedKernel(() => streams(s, names16.slice(0, 8)));
    emit('serve_sgmv_8', { ...common, streams: 8, adapters: 8, grouped_kernel_tok_s: eight.tokens_per_s, per_group_tok_s: perGroup.tokens_per_s, ratio: round(eight.tokens_per_s / perGroup.tokens_per_s, 3), cpu_s_kernel: eight.cpu_s, cpu_s_per_group: perGroup.cpu_s });
    const none = await streams(s, Array.from({ length: 8 }, () => 'gpt2'));
    const adapted = await streams(s, Array.from({ length: 8 }, () => 'lora0'));
    const u = { base_tok_s: none.tokens_per_s, adapter_tok_s: adapted.tokens_per_s, ratio: round(adapted.tokens_per_s / none.tokens_per_s, 3), cpu_s_base: none.cpu_s, cpu_s_adapter: adapted.cpu_s, cpu_ratio: round(none.cpu_s / adapted.cpu_s, 3) };
    unmerged.push(u);
    emit('serve_unmerged_vs_base', { ...common, streams: 8, ...u });
  }
  emitMedian('serve_mixed_8', mixed, ['ratio', 'cpu_ratio'], { streams: 8 });
  emitMedian('serve_unmerged_vs_base', unmerged, ['ratio', 'cpu_ratio'], { streams: 8 });
}

if (want('latency')) {
  const s = service();
  await warmUp(s);
  const r = await streams(s, names16);
  emit('serve_latency_16', { ...common, streams: 16, adapters: 16, ...r });
}

if (want('registered')) {
  const many = await mkdtemp(join(tmpdir(), 'peft-bench-many-'));
  const few = await mkdtemp(join(tmpdir(), 'peft-bench-few-'));
  for (let i = 0; i < 1000; i++) await symlink(join(dir, `lora${i % 16}`), join(many, `x${i}`));
  for (let i = 0; i < 32; i++) await symlink(join(dir, `lora${i % 16}`), join(few, `x${i}`));
  const hot = Array.from({ length: 32 }, (_, i) => `x${i}`);
  const sMany = service([many]);
  const sFew = service([few]);
  const rounds: Record<string, number>[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    // Which service goes first alternates: the second of a pair met a warmer machine.
    let a: Run, b: Run;
    if (k % 2 === 0) {
      a = await streams(sFew, hot);
      b = await streams(sMany, hot);
    } else {
      b = await streams(sMany, hot);
      a = await streams(sFew, hot);
    }
    const r = { few_tok_s: a.tokens_per_s, many_tok_s: b.tokens_per_s, ratio: round(b.tokens_per_s / a.tokens_per_s, 3), cpu_s_few: a.cpu_s, cpu_s_many: b.cpu_s, cpu_ratio: round(a.cpu_s / b.cpu_s, 3) };
    rounds.push(r);
    emit('serve_registered', { ...common, streams: 32, hot: 32, registered_few: 32, registered_many: 1000, ...r });
  }
  emitMedian('serve_registered', rounds, ['ratio', 'cpu_ratio'], { streams: 32, registered_few: 32, registered_many: 1000 });
  await rm(many, { recursive: true });
  await rm(few, { recursive: true });
}

if (want('families')) {
  const fam: [string, object][] = [
    ['f_lora', lora(16)], ['f_dora', lora(16, { useDora: true })], ['f_ia3', { peftType: 'IA3' }], ['f_vera', { peftType: 'VERA', r: 16 }],
    ['f_loha', { peftType: 'LOHA', r: 16, targetModules: ['c_attn', 'c_proj', 'c_fc'] }], ['f_prompt', { peftType: 'PROMPT_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 8 }],
    ['f_prefix', { peftType: 'PREFIX_TUNING', taskType: 'CAUSAL_LM', numVirtualTokens: 8 }], ['f_houlsby', { peftType: 'BOTTLENECK', adapterType: 'houlsby', reductionFactor: 16, initWeights: 'random' }],
  ];
  for (const [name, c] of fam) await makeAdapter(name, c);
  const s = service();
  await warmUp(s);
  // First forwards of every family's tree (kernel shapes, allocator) are not timed.
  await streams(s, fam.map(([n]) => n));
  const rounds: Record<string, number>[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const mix = await streams(s, fam.map(([n]) => n));
    const loras = await streams(s, names16.slice(0, 8));
    const r = { families_tok_s: mix.tokens_per_s, eight_lora_tok_s: loras.tokens_per_s, ratio: round(mix.tokens_per_s / loras.tokens_per_s, 3), cpu_s_families: mix.cpu_s, cpu_s_eight_lora: loras.cpu_s, cpu_ratio: round(loras.cpu_s / mix.cpu_s, 3) };
    rounds.push(r);
    emit('serve_families_8', { ...common, streams: 8, families: fam.map(([n]) => n.slice(2)).join(','), ...r });
  }
  emitMedian('serve_families_8', rounds, ['ratio', 'cpu_ratio'], { streams: 8 });
}

if (want('ranks')) {
  // Four adapters of ranks 8, 16, 32 and 64 against four adapters of rank 64, two streams each: the
  // same batch shape and the same number of distinct adapters (each one's A and B are read once per
  // step), so padding every group to the largest rank would cost as much as the four r64 adapters
  // (ratio 1), and work in proportion to the sum of ranks (8 + 16 + 32 + 64) / (4 * 64) = 0.469 of it.
  for (const r of [8, 32]) await makeAdapter(`rank${r}`, lora(r));
  const r64 = ['a', 'b', 'c', 'd'].map((x) => `rank64${x}`);
  for (const name of r64) await makeAdapter(name, lora(64));
  const s = service();
  await warmUp(s);
  const mixed = ['rank8', 'lora0', 'rank32', r64[0]!];
  // Untimed: the first mixed batch met each rank's shapes for the first time (its round read 3-4x the others).
  await streams(s, [...mixed, ...mixed]);
  await streams(s, [...r64, ...r64]);
  const rounds: Record<string, number>[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const m = await streams(s, [...mixed, ...mixed]);
    const four64 = await streams(s, [...r64, ...r64]);
    const none = await streams(s, Array.from({ length: 8 }, () => 'gpt2'));
    // Adapter cost over the base, the same tokens in each run: by wall time per token and by CPU seconds.
    // The adapters' share of a step is a tenth or so, a difference of two noisy figures: CPU is the steadier.
    const over = (x: Run) => 1 / x.tokens_per_s - 1 / none.tokens_per_s;
    const overCpu = (x: Run) => x.cpu_s - none.cpu_s;
    const r = {
      mixed_tok_s: m.tokens_per_s, four_r64_tok_s: four64.tokens_per_s, base_tok_s: none.tokens_per_s,
      cpu_s_mixed: m.cpu_s, cpu_s_four_r64: four64.cpu_s, cpu_s_base: none.cpu_s,
      adapter_overhead_mixed_over_four_r64: round(over(m) / over(four64), 3),
      cpu_overhead_mixed_over_four_r64: round(overCpu(m) / overCpu(four64), 3),
    };
    rounds.push(r);
    emit('serve_ranks_mixed', { ...common, streams: 8, ranks: '8,16,32,64 x2 vs 64,64,64,64 x2', ...r });
  }
  emitMedian('serve_ranks_mixed', rounds, ['adapter_overhead_mixed_over_four_r64', 'cpu_overhead_mixed_over_four_r64'], {
    streams: 8, proportional_to_sum_of_ranks: 0.469, padded_to_largest: 1,
  });
}

await rm(dir, { recursive: true });
