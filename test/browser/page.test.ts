// The example page in headless Chromium (playwright-core, Debian's /usr/bin/chromium), served on
// 127.0.0.1 with cross-origin isolation: pick the GPT-2 fixture folder, drop a text, train a LoRA
// for a few steps (the loss goes down), download the adapter, and load it in Node: the logits equal
// the page's within float32 rounding of two kernel sets. An out-of-memory in a training request
// leaves the page usable and says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AutoModelForCausalLM, AutoTokenizer, PeftModel, noGrad, tensor } from '../../src/index.js';
import { FIXTURES } from '../helpers/parity.js';
import { buildBrowser } from '../../scripts/build-browser.js';
import { serve } from '../../examples/browser/serve.js';

const CHROMIUM = '/usr/bin/chromium';
const GPT2 = join(FIXTURES, 'gpt2');
const TEXT = 'The quick brown fox jumps over the lazy dog. A LoRA adapter learns this sentence in a page. '.repeat(40);
const PROMPT = 'The quick brown fox';

let dir = '';
let browser: Browser | undefined;
let page: Page;
let stopServer = () => {};

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  dir = await mkdtemp(join(tmpdir(), 'peftjs-page-'));
  await buildBrowser(join(dir, 'dist'));
  const { server, url } = await serve({ dist: join(dir, 'dist') });
  stopServer = () => server.close();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await page.goto(`${url}/`);
});

after(async () => {
  await browser?.close();
  stopServer();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test(
  "the page trains a LoRA whose downloaded files give the page's logits in Node",
  { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` },
  async () => {
    assert.match((await page.textContent('#isolation'))!, /Cross-origin isolated/);
    await page.setInputFiles('#folder', GPT2);
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }
        ).document
          .getElementById('model-status')!
          .textContent!.startsWith('Loaded'),
      undefined,
      { timeout: 30_000 },
    );
    assert.match((await page.textContent('#model-status'))!, /gpt2.*wasm, relaxed-simd, 2 thread/);

    const textFile = join(dir, 'fox.txt');
    await writeFile(textFile, TEXT);
    await page.setInputFiles('#data', textFile);
    await page.fill('#steps', '8');
    await page.fill('#batch', '2');
    await page.fill('#seq', '32');
    await page.fill('#lr', '0.01');
    await page.click('#train');
    await page.waitForSelector('a.download', { timeout: 60_000 });
    assert.equal(await page.textContent('#error'), '');
    const losses = await page.evaluate(() => (globalThis as unknown as { peftLosses: number[] }).peftLosses);
    assert.equal(losses.length, 8);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(losses.at(-1)! < losses[0]! - 0.1, `loss went ${losses.join(' -> ')}`);

    const adapterDir = join(dir, 'adapter');
    for (const link of await page.$$('a.download')) {
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      await download.saveAs(join(adapterDir, download.suggestedFilename()));
    }
    const inPage = await page.evaluate(async (prompt) => {
      const { ids, data } = await (
        globalThis as unknown as { peftEngine: { logits(p: string): Promise<{ ids: number[]; data: Float32Array }> } }
      ).peftEngine.logits(prompt);
      return { ids, data: Array.from(data) };
    }, PROMPT);

    const tokenizer = await AutoTokenizer.fromPretrained(GPT2);
    assert.deepEqual(tokenizer.encode(PROMPT), inPage.ids);
    const peft = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(GPT2), adapterDir);
    const base = await AutoModelForCausalLM.fromPretrained(GPT2);
    const input = tensor(inPage.ids, [1, inPage.ids.length], 'int64');
    const inNode = noGrad(() => peft.forward({ inputIds: input }).logits.data() as Float32Array);
    const baseLogits = noGrad(() => base.forward({ inputIds: input }).logits.data() as Float32Array);
    let diff = 0;
    let moved = 0;
    for (let i = 0; i < inNode.length; i++) {
      diff = Math.max(diff, Math.abs(inNode[i]! - inPage.data[i]!));
      moved = Math.max(moved, Math.abs(inNode[i]! - baseLogits[i]!));
    }
    // The page's kernels (128-bit SIMD, no FMA) and Node's (AVX-512/AVX2 with FMA) sum in other orders:
    // float32 rounding over a 32-wide model leaves ~1e-6 per logit; the adapter itself moved them far more.
    assert.ok(diff < 1e-4, `page vs Node logits differ by ${diff}`);
    assert.ok(moved > 100 * diff, `the adapter moved the logits by only ${moved}`);
  },
);

test(
  'an out-of-memory in training is reported and the page stays usable',
  { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` },
  async () => {
    // Rank 2^27 on c_attn needs a 16 GiB lora_A (2^32 floats): refused before allocating, with the typed error.
    const error = await page.evaluate(async (text) => {
      const engine = (globalThis as unknown as { peftEngine: { train(s: object): Promise<unknown> } }).peftEngine;
      return engine.train({ text, steps: 1, r: 2 ** 27, sequenceLength: 16, batchSize: 1 }).then(
        () => null,
        (e: { kind: string; message: string }) => ({ kind: e.kind, message: e.message }),
      );
    }, TEXT);
    assert.equal(error?.kind, 'out-of-memory');
    assert.match(
      error!.message,
      /out of memory: a tensor needs 16\.00 GiB but the WebAssembly memory holds at most 4 GiB.*model is still loaded/,
    );
    // Still usable: it generates, and trains again.
    await page.click('#generate');
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }
        ).document.getElementById('generated')!.textContent !== '',
      undefined,
      {
        timeout: 30_000,
      },
    );
    const again = await page.evaluate(async (text) => {
      const engine = (globalThis as unknown as { peftEngine: { train(s: object): Promise<{ losses: number[] }> } })
        .peftEngine;
      return (await engine.train({ text, steps: 2, sequenceLength: 16, batchSize: 1 })).losses;
    }, TEXT);
    assert.equal(again.length, 2);
  },
);
