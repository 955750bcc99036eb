// peftjs in a page: a GPT-2 124M-shaped model (random weights, saved once into a temporary folder
// with the GPT-2 fixture's tokenizer) served on 127.0.0.1 to headless Chromium (COOP/COEP: the
// WebAssembly kernels on every core), against the same Engine code in Node on the native backend.
// Records: the page's time to load the model (config, 475 MB of weights and tokenizer fetched from
// the server; then, apart, the weights file fetched as a Blob and read through, the two parts of
// that time that are not building the model), and LoRA training tokens/s (r = 16 on c_attn, c_proj, c_fc, batch x seq tokens per
// step, the steps after the first), page and Node alternated --rounds times; CPU seconds per thread
// are the whole Chromium process tree's, or this process's, over the steps.
// Usage: node --import tsx bench/browser.ts [--batch 1] [--seq 128] [--steps 4] [--rounds 2]
import { mkdtemp, rm, copyFile, readdir, readFile } from 'node:fs/promises';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { GPT2LMHeadModel, native } from '../src/index.js';
import { Engine } from '../src/browser/engine.js';
import type { TrainSettings } from '../src/browser/protocol.js';
import { buildBrowser } from '../scripts/build-browser.js';
import { serve } from '../examples/browser/serve.js';
import { gpt2SmallConfig } from './lib/models.js';
import { arg, emit, round } from './lib/report.js';

const batch = Number(arg('batch') ?? 1);
const seq = Number(arg('seq') ?? 128);
const steps = Number(arg('steps') ?? 4);
const rounds = Number(arg('rounds') ?? 2);
const TICKS = 100; // USER_HZ of /proc/<pid>/stat

/** CPU seconds (user + system) of `pid` and all its descendants, from /proc. */
async function treeCpuSeconds(pid: number): Promise<number> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
    if (text === null) continue;
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  const inTree = (p: number): boolean => p === pid || (p > 1 && stats.has(p) && inTree(stats.get(p)!.ppid));
  let ticks = 0;
  for (const [p, s] of stats) if (inTree(p)) ticks += s.ticks;
  return ticks / TICKS;
}

const dir = await mkdtemp(join(tmpdir(), 'peftjs-bench-browser-'));
const fixture = join(import.meta.dirname, '..', 'test', 'fixtures', 'hf', 'gpt2');
const server = await (async () => {
  const modelDir = join(dir, 'gpt2-124m');
  await new GPT2LMHeadModel(gpt2SmallConfig(), 'float32').savePretrained(modelDir);
  for (const file of ['tokenizer.json', 'tokenizer_config.json'])
    await copyFile(join(fixture, file), join(modelDir, file));
  await buildBrowser(join(dir, 'dist'));
  return serve({ dist: join(dir, 'dist'), models: { gpt2: modelDir } });
})();
const modelUrl = `${server.url}/models/gpt2`;
const text = (await readFile(join(fixture, 'tokenizer.json'), 'utf8')).slice(0, 200_000);
const settings: TrainSettings = {
  text,
  format: 'text',
  steps,
  batchSize: batch,
  sequenceLength: seq,
  r: 16,
  loraAlpha: 32,
  targetModules: ['c_attn', 'c_proj', 'c_fc'],
};
const browserServer = await chromium.launchServer({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const browser = await chromium.connect(browserServer.wsEndpoint());
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  type PageEngine = {
    load(l: object): Promise<{ loadMs: number; backend: { threads: number; simd: string } }>;
    train(s: object): Promise<{ tokensPerSecond: number; losses: number[] }>;
  };
  const loadCpuBefore = await treeCpuSeconds(browserServer.process().pid!);
  const loaded = await page.evaluate(async (url) => {
    const started = performance.now();
    const info = await (globalThis as unknown as { peftEngine: PageEngine }).peftEngine.load({ url });
    return { ...info, wallMs: performance.now() - started };
  }, modelUrl);
  const loadCpu = (await treeCpuSeconds(browserServer.process().pid!)) - loadCpuBefore;
  // Where the load's time goes: the weights file fetched as the engine fetches it (a Blob), then
  // read through in the slices the engine reads (io/files/blobs.ts); the rest is building the model.
  const parts = await page.evaluate(async (url) => {
    const started = performance.now();
    const blob = await (await fetch(`${url}/model.safetensors`)).blob();
    const fetched = performance.now();
    for (let at = 0; at < blob.size; at += 64 << 20) await blob.slice(at, at + (64 << 20)).arrayBuffer();
    const read = performance.now();
    // The same file fetched into memory instead (no Blob store between), for comparison.
    await (await fetch(`${url}/model.safetensors`)).arrayBuffer();
    return {
      bytes: blob.size,
      fetchMs: fetched - started,
      readMs: read - fetched,
      fetchArrayBufferMs: performance.now() - read,
    };
  }, modelUrl);
  emit('browser_model_load', {
    model: 'gpt2-124M',
    dtype: 'float32',
    where: 'chromium',
    backend: 'wasm',
    simd: loaded.backend.simd,
    threads: loaded.backend.threads,
    seconds: round(loaded.loadMs / 1000),
    page_wall_seconds: round(loaded.wallMs / 1000),
    cpu_seconds: round(loadCpu),
  });
  emit('browser_model_load_parts', {
    model: 'gpt2-124M',
    where: 'chromium',
    weights_mb: round(parts.bytes / 2 ** 20),
    fetch_as_blob_seconds: round(parts.fetchMs / 1000),
    read_blob_seconds: round(parts.readMs / 1000),
    fetch_as_arraybuffer_seconds: round(parts.fetchArrayBufferMs / 1000),
  });
  const engine = new Engine(() => ({ name: 'native', simd: native.simdLevel(), threads: native.numThreads() }));
  await engine.load({ url: modelUrl });
  for (let round_ = 0; round_ < rounds; round_++) {
    const cpuBefore = await treeCpuSeconds(browserServer.process().pid!);
    const inPage = await page.evaluate(
      (s) => (globalThis as unknown as { peftEngine: PageEngine }).peftEngine.train(s),
      settings,
    );
    const pageCpu = (await treeCpuSeconds(browserServer.process().pid!)) - cpuBefore;
    emit('browser_lora_train', {
      model: 'gpt2-124M',
      where: 'chromium',
      backend: 'wasm',
      threads: loaded.backend.threads,
      r: 16,
      batch,
      seq,
      steps,
      round: round_,
      tokens_per_s: round(inPage.tokensPerSecond),
      cpu_seconds_per_thread_per_step: round(pageCpu / steps / loaded.backend.threads),
      last_loss: round(inPage.losses.at(-1)!),
    });
    const cpuStart = process.cpuUsage();
    const inNode = engine.train(settings, () => {});
    const cpu = process.cpuUsage(cpuStart);
    emit('browser_lora_train', {
      model: 'gpt2-124M',
      where: 'node',
      backend: 'native',
      simd: native.simdLevel(),
      threads: native.numThreads(),
      r: 16,
      batch,
      seq,
      steps,
      round: round_,
      tokens_per_s: round(inNode.tokensPerSecond),
      cpu_seconds_per_thread_per_step: round((cpu.user + cpu.system) / 1e6 / steps / native.numThreads()),
      last_loss: round(inNode.losses.at(-1)!),
      cores: availableParallelism(),
    });
  }
  await browser.close();
} finally {
  await browserServer.close();
  server.server.close();
  await rm(dir, { recursive: true, force: true });
}
