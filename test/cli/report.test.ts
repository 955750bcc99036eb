// The HTML report of a real run renders its charts in headless Chromium (Debian's, installed by
// .ci/run), with no network. Without chromium this test fails: it never passes silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { EXIT } from '../../src/cli/exit-codes.js';
import { peft, RECIPE, tempDir } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('the run report renders the loss, learning-rate and eval charts in headless Chromium', async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH`);
  const out = join(tempDir(), 'run');
  const run = await peft('train', RECIPE, '--output', out, '--max-steps', '4', '--set', 'training.eval_strategy=steps', '--set', 'training.eval_steps=2');
  assert.equal(run.code, EXIT.OK, run.stderr);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(out, 'report.html')).href);
    await page.waitForSelector('body[data-charts="done"]', { timeout: 10_000 });
    assert.deepEqual(errors, []);
    const charts = await page.$$eval('figure[data-keys]', (figures) =>
      figures.map((f) => ({
        keys: f.getAttribute('data-keys'),
        rendered: f.getAttribute('data-rendered'),
        points: [...f.querySelectorAll('path.series')].map((p) => (p.getAttribute('d') ?? '').split(/[ML]/).filter((part: string) => part.trim()).length),
      })),
    );
    assert.deepEqual(charts.map((c) => c.keys), ['loss', 'learningRate', 'evalLoss']);
    for (const chart of charts) assert.equal(chart.rendered, '1', `chart ${chart.keys} did not render`);
    assert.deepEqual(charts.map((c) => c.points[0]), [4, 4, 3], 'one point per log (4 steps) and per evaluation (steps 2, 4 and the final one)');
    assert.match(await page.textContent('pre') ?? '', /"peft_type": "LORA"/);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'the report fetched something from the network');
  } finally {
    await browser.close();
  }
});
