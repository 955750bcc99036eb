// The example page served WITHOUT the cross-origin isolation headers (a plain host): no
// SharedArrayBuffer, so the threaded kernels cannot instantiate; the worker loads the
// single-threaded build instead (with relaxed SIMD, which Chromium has: peftjs-wasm-relaxed-st.js),
// says it runs on one thread, and trains.
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

let dir = '';
let browser: Browser | undefined;
let page: Page;
let stopServer = () => {};
const scripts: string[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'peftjs-page-st-'));
  await buildBrowser(join(dir, 'dist'));
  const { server, url } = await serve({ dist: join(dir, 'dist'), isolate: false });
  stopServer = () => server.close();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await (await browser.newContext()).newPage();
  page.on('request', (request) => {
    if (/peftjs-wasm[^/]*\.js$/.test(request.url()))
      scripts.push(request.url().slice(request.url().lastIndexOf('/') + 1));
  });
  await page.goto(`${url}/`);
});

after(async () => {
  await browser?.close();
  stopServer();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('a page that is not cross-origin isolated runs the single-threaded build and trains', { skip }, async () => {
  assert.equal(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated), false);
  assert.match((await page.textContent('#isolation'))!, /not cross-origin isolated/);
  await page.setInputFiles('#folder', join(FIXTURES, 'gpt2'));
  // Loaded, or failed (the threaded build would fail here: its shared memory needs SharedArrayBuffer).
  await page.waitForFunction(
    () => {
      const { document } = globalThis as unknown as {
        document: { getElementById(id: string): { textContent: string | null } };
      };
      return (
        document.getElementById('model-status').textContent!.startsWith('Loaded') ||
        document.getElementById('error').textContent !== ''
      );
    },
    undefined,
    { timeout: 30_000 },
  );
  assert.equal(await page.textContent('#error'), '');
  assert.match((await page.textContent('#model-status'))!, /Loaded gpt2.*wasm, relaxed-simd, 1 thread.*one thread/);
  assert.deepEqual(scripts, ['peftjs-wasm-relaxed-st.js']);

  const textFile = join(dir, 'fox.txt');
  await writeFile(textFile, 'The quick brown fox jumps over the lazy dog. '.repeat(40));
  await page.setInputFiles('#data', textFile);
  await page.fill('#steps', '2');
  await page.fill('#batch', '1');
  await page.fill('#seq', '16');
  await page.click('#train');
  await page.waitForSelector('a.download', { timeout: 60_000 });
  assert.equal(await page.textContent('#error'), '');
  const losses = await page.evaluate(() => (globalThis as unknown as { peftLosses: number[] }).peftLosses);
  assert.equal(losses.length, 2);
  assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
});
