// bench/methods in its quick mode (a tiny slice of the corpus, a 1-layer encoder, one optimizer
// step per stage): every method gets a row, the table and chart are written, and a worker process
// gives the same kind of row as the in-process run. Keeps the benchmark from rotting; measures nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHODS, selectMethods } from '../../src/quickstart/methods.js';
import { QUICK, runPipeline } from '../../bench/methods/pipeline.js';
import { mailText } from '../../src/quickstart/corpus.js';

test('mailText keeps the subject and body, drops headers, markup and quoted-printable escapes', () => {
  const raw = 'From: a@b\nSubject: Cheap\n pills\nX-Spam-Status: Yes\n\n<p>Buy&nbsp;now=\n!</p>\n--boundary42\nContent-Type: text/plain\n=41ll done';
  assert.equal(mailText(raw), 'Cheap pills Buy now! All done');
});

test('quick mode: every method gets a row; the table, chart and JSON lines are written', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'methods-bench-'));
  try {
    const { rows, pretrain } = await runPipeline({ settings: QUICK, methods: METHODS, outDir, isolate: false, emitLines: false });
    assert.equal(pretrain.steps, 1);
    assert.deepEqual(rows.map((r) => r.method), METHODS.map((m) => m.name));
    for (const row of rows) {
      assert.notEqual(row.status, 'failed', `${row.method}: ${row.reason}`);
      if (row.status !== 'ok') {
        assert.ok(row.reason, `${row.method} says why it did not run`);
        continue;
      }
      assert.equal(row.steps, 1);
      assert.ok(row.accuracy! >= 0 && row.accuracy! <= 1 && Number.isFinite(row.trainLoss), row.method);
      assert.ok(row.trainableParams! > 0 && row.peakRssMB! > 0 && row.peakTensorMB! > 0, row.method);
      assert.deepEqual(row.freshParameters, ['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight']);
    }
    const full = rows.find((r) => r.method === 'Full fine-tuning')!;
    assert.equal(full.trainablePct, 100);
    assert.ok(rows.filter((r) => r.status === 'ok' && r !== full).every((r) => r.trainablePct! < 100));
    const table = readFileSync(join(outDir, 'table.md'), 'utf8');
    for (const m of METHODS) assert.ok(table.includes(`| ${m.name} |`), m.name);
    assert.match(readFileSync(join(outDir, 'chart.svg'), 'utf8'), /^<svg[^]*<\/svg>\n$/);
    assert.equal(readFileSync(join(outDir, 'results.jsonl'), 'utf8').trim().split('\n').length, METHODS.length);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('quick mode in a worker process: the row comes back over stdout', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'methods-bench-'));
  try {
    const { rows } = await runPipeline({ settings: QUICK, methods: selectMethods(['LoRA']), outDir, emitLines: false });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'ok', rows[0]!.reason ?? '');
    assert.ok(existsSync(join(outDir, 'chart.svg')));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
