// The example page when the WebAssembly memory runs out in the middle of a training step. Chromium
// is started with V8's --wasm-max-mem-pages, so the kernels' heap cannot grow past 96 MiB (as on a
// device that cannot give the page more memory); a batch whose activations need more fails inside
// its forward pass, when a kernel's arguments find no room in the heap. The page says so, and the
// same page then trains a small batch and generates: nothing was left half-done in the worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FIXTURES } from '../helpers/parity.js';
import { buildBrowser } from '../../scripts/build-browser.js';
import { serve } from '../../examples/browser/serve.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed`;
const HEAP_PAGES = 1536; // 96 MiB of 64 KiB pages; the module starts with 64 MiB

let dir = '';
let browser: Browser | undefined;
let page: Page;
let stopServer = () => {};

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'peftjs-page-oom-'));
  await buildBrowser(join(dir, 'dist'));
  const { server, url } = await serve({ dist: join(dir, 'dist') });
  stopServer = () => server.close();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', `--js-flags=--wasm-max-mem-pages=${HEAP_PAGES}`],
  });
  page = await (await browser.newContext()).newPage();
  await page.goto(`${url}/`);
});

after(async () => {
  await browser?.close();
  stopServer();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Waits until element `id` of the page has text that `done` accepts (30 s at most). */
async function waitForText(id: string, done: 'non-empty' | 'Loaded'): Promise<void> {
  await page.waitForFunction(
    ([id, done]) => {
      const { document } = globalThis as unknown as {
        document: { getElementById(id: string): { textContent: string | null } };
      };
      const text = document.getElementById(id).textContent ?? '';
      return done === 'Loaded' ? text.startsWith('Loaded') : text !== '';
    },
    [id, done] as const,
    { timeout: 30_000 },
  );
}

async function train(steps: number, batch: number, seq: number): Promise<void> {
  await page.fill('#steps', String(steps));
  await page.fill('#batch', String(batch));
  await page.fill('#seq', String(seq));
  await page.click('#train');
}

test(
  'a step that exhausts the WebAssembly memory is reported and the page trains and generates after',
  { skip },
  async () => {
    await page.setInputFiles('#folder', join(FIXTURES, 'gpt2'));
    await waitForText('model-status', 'Loaded');
    const textFile = join(dir, 'fox.txt');
    await writeFile(textFile, 'The quick brown fox jumps over the lazy dog. '.repeat(400));
    await page.setInputFiles('#data', textFile);

    // 1024 x 64 tokens: the attention scores alone are 64 MiB (1024 x 4 heads x 64 x 64 floats), and
    // the LM head's logits 80 MiB; each tensor is far under the 4 GiB limit, so only the heap can refuse.
    await train(1, 1024, 64);
    await waitForText('error', 'non-empty');
    const error = (await page.textContent('#error'))!;
    assert.match(error, /^Out of memory: out of memory: .+: an argument needs [\d.]+ MiB but the WebAssembly memory/);
    assert.match(error, /has no room for it beside the [\d.]+ MiB its heap already holds/);
    assert.match(error, /The model is still loaded; use a smaller batch or sequence length\.$/);
    assert.equal(await page.$('a.download'), null);
    assert.equal(await page.isDisabled('#train'), false);

    await train(2, 2, 16);
    await page.waitForSelector('a.download', { timeout: 60_000 });
    assert.equal(await page.textContent('#error'), '');
    const losses = await page.evaluate(() => (globalThis as unknown as { peftLosses: number[] }).peftLosses);
    assert.equal(losses.length, 2);
    assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);

    await page.click('#generate');
    await waitForText('generated', 'non-empty');
    assert.equal(await page.textContent('#error'), '');
  },
);
