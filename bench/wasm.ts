// The WebAssembly backend against the native one on this machine, in Node (JSON lines):
// - gemm: f32 GEMM 1024³ on 2 threads, native and both wasm builds, plain SIMD128 (`wasm`) and relaxed
//   SIMD (`wasm_relaxed`, the one the backend loads where the engine has it) (the wasm call includes its
//   copies of A and B into the wasm heap and of C back out, as every kernel call on that backend does;
//   copy_ms is their time alone), alternated --rounds times in this process; the target is wasm
//   ≥ 25% of native. The children below run the backend's choice (relaxed SIMD in Node 20).
// - load: GPT-2 124M (random weights saved once as a model folder) loaded by fromPretrained.
// - lora_step: one LoRA training step (r = 16 on c_attn, c_proj, c_fc; batch x seq tokens) of the
//   GPT-2 124M shape. The backend is chosen per process (PEFTJS_BACKEND), so load and lora_step run
//   in child processes, native and wasm alternated. CPU seconds are per thread: on a shared machine
//   they are steadier than wall times.
// Usage: node --import tsx bench/wasm.ts [--rounds 2] [--batch 1] [--seq 128] [--steps 2] [--threads 2] [--only gemm]
// (--only gemm: the GEMM comparison alone, without the load and LoRA-step children)
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, GPT2LMHeadModel, getPeftModel, backendInfo, native } from '../src/index.js';
import { useRelaxedSimd } from '../src/tensor/native/index.js';
import { wasmScript } from '../src/tensor/native/wasm/relaxed-simd.js';
import { createWasmBackend, type WasmFactory } from '../src/tensor/native/wasm/backend.js';
import type { NativeAddon } from '../src/tensor/native/index.js';
import { lmTrainStep } from './lib/train-step.js';
import { arg, emit, round } from './lib/report.js';
import { randomFloats } from './lib/peak.js';
import { innerCalls, time } from './lib/timing.js';
import { gpt2SmallConfig } from './lib/models.js';

const rounds = Number(arg('rounds') ?? 2);
const batch = Number(arg('batch') ?? 1);
const seq = Number(arg('seq') ?? 128);
const steps = Number(arg('steps') ?? 2);
const threads = Number(arg('threads') ?? 2);
const child = arg('child');
const only = arg('only');

/** CPU seconds (all threads of this process) and wall seconds of `fn`, per thread. */
function measured(fn: () => void): { wall: number; cpuPerThread: number } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  fn();
  const used = process.cpuUsage(cpu);
  return {
    wall: Number(process.hrtime.bigint() - start) / 1e9,
    cpuPerThread: (used.user + used.system) / 1e6 / backendInfo().threads,
  };
}

async function childMain(kind: string): Promise<void> {
  const info = backendInfo();
  if (kind === 'load') {
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await AutoModelForCausalLM.fromPretrained(arg('dir')!);
    const used = process.cpuUsage(cpu);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    emit('wasm_vs_native_load', {
      model: 'gpt2-124M',
      backend: info.name,
      simd: info.simd,
      threads: info.threads,
      seconds: round(seconds),
      cpu_seconds: round((used.user + used.system) / 1e6),
    });
    return;
  }
  const model = getPeftModel(new GPT2LMHeadModel(gpt2SmallConfig(), 'float32'), {
    peftType: 'LORA',
    r: 16,
    loraAlpha: 32,
    targetModules: ['c_attn', 'c_proj', 'c_fc'],
    taskType: 'CAUSAL_LM',
  }).train();
  const { step, loss } = lmTrainStep(model, gpt2SmallConfig().vocab_size, batch, seq);
  step(); // warm-up: first-touch of buffers, the pool
  let wall = 0;
  let cpu = 0;
  for (let i = 0; i < steps; i++) {
    const m = measured(step);
    wall += m.wall;
    cpu += m.cpuPerThread;
  }
  emit('wasm_vs_native_lora_step', {
    model: 'gpt2-124M',
    backend: info.name,
    simd: info.simd,
    threads: info.threads,
    r: 16,
    batch,
    seq,
    steps,
    seconds_per_step: round(wall / steps),
    tokens_per_s: round((batch * seq * steps) / wall),
    cpu_seconds_per_thread_per_step: round(cpu / steps),
    loss: round(loss()),
  });
}

function runChild(backend: 'native' | 'wasm', kind: string, extra: string[] = []): void {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      import.meta.filename,
      '--child',
      kind,
      '--batch',
      String(batch),
      '--seq',
      String(seq),
      '--steps',
      String(steps),
      ...extra,
    ],
    {
      env: { ...process.env, PEFTJS_BACKEND: backend, PEFTJS_NUM_THREADS: String(threads) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (run.status !== 0) throw new Error(`the ${backend} ${kind} child failed (${run.status})`);
  process.stdout.write(run.stdout);
}

async function gemmMain(): Promise<void> {
  // Both WebAssembly builds: the plain one (SIMD128 multiply then add) and, where this Node's V8 runs
  // relaxed SIMD, the one whose GEMM multiply-adds with relaxed_madd (the backend's choice there).
  const load = async (script: string) => {
    const file = join(import.meta.dirname, '..', 'build', 'wasm', script);
    const factory = createRequire(import.meta.url)(file) as WasmFactory;
    return createWasmBackend(factory, { threads, wasmBinary: readFileSync(file.replace(/\.js$/, '.wasm')) });
  };
  const builds: [string, NativeAddon][] = [['wasm', await load(wasmScript({ threaded: true, relaxedSimd: false }))]];
  if (useRelaxedSimd()) builds.push(['wasm_relaxed', await load(wasmScript({ threaded: true, relaxedSimd: true }))]);
  native.setNumThreads(threads);
  const n = 1024;
  const A = randomFloats(n * n);
  const B = randomFloats(n * n);
  const C = new Float32Array(n * n);
  const backends: [string, NativeAddon][] = [['native', native], ...builds];
  for (let r = 0; r < rounds; r++) {
    const gflops: Record<string, number> = {};
    const cpuPerCall: Record<string, number> = {};
    for (const [name, k] of backends) {
      const call = () => k.gemm(false, false, n, n, n, 1, A, 0, n, 0, B, 0, 0, n, 0, 0, C, 0, n, 0, 1);
      const inner = innerCalls(time(call, { warmup: 1, runs: 1 }).median, 0.2);
      const cpu = process.cpuUsage();
      const t = time(call, { warmup: 1, runs: 5, inner });
      const used = process.cpuUsage(cpu);
      gflops[name] = (2 * n ** 3) / t.median / 1e9;
      cpuPerCall[name] = (used.user + used.system) / 1e6 / (1 + 5 * inner);
      // The same call with K = 0 on the same arrays: the wasm backend still copies A and B into its heap
      // and C back out (the kernel only zeroes C), so its time is what the copies cost.
      const copy =
        name !== 'native'
          ? time(() => k.gemm(false, false, n, n, 0, 1, A, 0, n, 0, B, 0, 0, n, 0, 0, C, 0, n, 0, 1), {
              warmup: 1,
              runs: 5,
            })
          : undefined;
      emit('wasm_vs_native_gemm', {
        m: n,
        n,
        k: n,
        backend: name,
        simd: k.simdLevel(),
        threads: k.numThreads(),
        round: r,
        median_ms: round(t.median * 1e3),
        gflops: round(gflops[name]!),
        cpu_ms_per_thread: round((cpuPerCall[name]! * 1e3) / threads),
        ...(copy ? { copy_ms: round(copy.median * 1e3), copy_share: round(copy.median / t.median, 3) } : {}),
      });
    }
    for (const [name] of builds) {
      emit('wasm_vs_native_gemm_ratio', {
        m: n,
        n,
        k: n,
        threads,
        build: name,
        round: r,
        wasm_over_native: round(gflops[name]! / gflops.native!, 3),
        // The same share by CPU seconds (both threads' time, warm-up calls included): steadier than wall
        // time on a shared machine, where the two backends' calls are not equally interrupted.
        wasm_over_native_cpu: round(cpuPerCall.native! / cpuPerCall[name]!, 3),
        target: 0.25,
      });
    }
  }
}

/** Model load and LoRA step, each backend in its own child process, alternated. */
async function childRuns(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'peftjs-bench-wasm-'));
  try {
    await new GPT2LMHeadModel(gpt2SmallConfig(), 'float32').savePretrained(dir);
    for (let r = 0; r < rounds; r++) {
      for (const backend of ['native', 'wasm'] as const) runChild(backend, 'load', ['--dir', dir]);
      for (const backend of ['native', 'wasm'] as const) runChild(backend, 'lora');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (child !== undefined) {
  await childMain(child);
} else {
  await gemmMain();
  if (only !== 'gemm') await childRuns();
}
