// Readers: JSONL, CSV, Parquet and folders of them; bad rows named by file and line; the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { BadRowError, DataError, clearMemoryCache, dataFiles, loadDataset, readRows } from '../../src/train/data/index.js';
import { DATA, load, tokenizerOf } from './data-helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'peftjs-data-'));
const rowsOf = async (file: string, bytes: Uint8Array) => (await readRows(file, bytes)).rows.map((r) => [r.values, r.where]);

test('JSONL rows carry file:line; blank lines are skipped', async () => {
  const read = await rowsOf('a.jsonl', Buffer.from('{"text":"x"}\n\n{"text":"y"}\n'));
  assert.deepEqual(read, [[{ text: 'x' }, 'a.jsonl:1'], [{ text: 'y' }, 'a.jsonl:3']]);
});

test('CSV rows are keyed by the header and carry file:line (quoted newlines included)', async () => {
  const read = await rowsOf('a.csv', Buffer.from('text,label\n"two\nlines",pos\nplain,neg\n'));
  assert.deepEqual(read, [[{ text: 'two\nlines', label: 'pos' }, 'a.csv:3'], [{ text: 'plain', label: 'neg' }, 'a.csv:4']]);
});

test('CSV with broken quoting is a DataError naming the file and line', async () => {
  await assert.rejects(readRows('q.csv', Buffer.from('text\n"ok"\n"unterminated\n')), (e: Error) => e instanceof DataError && /q\.csv:\d/.test(e.message));
});

test('Parquet rows carry file#row; int64 labels become numbers', async () => {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'text', data: ['good', 'bad'], type: 'STRING' },
      { name: 'label', data: [1n, 0n], type: 'INT64' },
    ],
  });
  const dir = tmp();
  writeFileSync(join(dir, 'x.parquet'), new Uint8Array(buffer));
  const read = await readRows(join(dir, 'x.parquet'), new Uint8Array(buffer));
  assert.deepEqual(read.rows.map((r) => r.where), [`${join(dir, 'x.parquet')}#1`, `${join(dir, 'x.parquet')}#2`]);
  const tokenizer = await tokenizerOf('bert');
  const data = await loadDataset(join(dir, 'x.parquet'), tokenizer, { format: 'classification', labelNames: ['neg', 'pos'], tokenizerKey: 't', cacheDir: null });
  assert.deepEqual(data.examples.map((e) => e.labels), [1, 0]);
  await assert.rejects(readRows('broken.parquet', Buffer.from('PAR1 not really')), DataError);
});

test('a folder reads its data files in name order and ignores the rest', async () => {
  const dir = tmp();
  copyFileSync(join(DATA, 'causal.csv'), join(dir, 'b.csv'));
  copyFileSync(join(DATA, 'causal.jsonl'), join(dir, 'a.jsonl'));
  writeFileSync(join(dir, 'notes.txt'), 'not data');
  assert.deepEqual(await dataFiles(dir), [join(dir, 'a.jsonl'), join(dir, 'b.csv')]);
  const tokenizer = await tokenizerOf('gpt2');
  const data = await loadDataset(dir, tokenizer, { format: 'text', packing: false, tokenizerKey: 't', cacheDir: null });
  assert.equal(data.examples.length, 32 + 6);
  await assert.rejects(dataFiles(join(dir, 'notes.txt')), /unknown data format '\.txt'/);
  await assert.rejects(dataFiles(join(dir, 'missing')), /does not exist/);
});

test('a bad row is fatal by default, naming file:line and the reason', async () => {
  const tokenizer = await tokenizerOf('gpt2');
  await assert.rejects(load('bad.jsonl', tokenizer, { format: 'text', packing: false }), (e: Error) => {
    assert.ok(e instanceof BadRowError);
    assert.match(e.message, /bad\.jsonl:2: not valid JSON/);
    assert.match(e.message, /on_bad_row: skip/);
    return true;
  });
});

test("onBadRow 'skip' leaves bad rows out and lists each with file:line", async () => {
  const tokenizer = await tokenizerOf('gpt2');
  const warnings: string[] = [];
  const data = await load('bad.jsonl', tokenizer, { format: 'text', packing: false, onBadRow: 'skip' }, warnings);
  assert.equal(data.examples.length, 2);
  assert.deepEqual(data.skipped.map((r) => r.where.replace(DATA, '')), ['bad.jsonl:2', 'bad.jsonl:4', 'bad.jsonl:5']);
  assert.match(data.skipped[1]!.reason, /no 'text' field \(the row has title\)/);
  assert.match(warnings.join(), /skipped 3 bad row/);
  const csv = await load('bad.csv', await tokenizerOf('bert'), { format: 'classification', onBadRow: 'skip' });
  assert.deepEqual(csv.skipped.map((r) => [r.where.replace(DATA, ''), r.reason]), [['bad.csv:3', '3 fields where the header has 2 (text, label)']]);
});

test('tokenised data is cached: in memory, then on disk, keyed by the file bytes and options', async () => {
  const dir = tmp();
  copyFileSync(join(DATA, 'causal.jsonl'), join(dir, 'c.jsonl'));
  const tokenizer = await tokenizerOf('gpt2');
  const options = { format: 'text' as const, maxLength: 16, tokenizerKey: 'k' };
  const first = await loadDataset(join(dir, 'c.jsonl'), tokenizer, options);
  assert.equal(first.source, 'tokenized');
  assert.equal(readdirSync(join(dir, '.peftjs-cache')).length, 1);
  assert.equal((await loadDataset(join(dir, 'c.jsonl'), tokenizer, options)).source, 'memory');
  clearMemoryCache();
  const disk = await loadDataset(join(dir, 'c.jsonl'), tokenizer, options);
  assert.equal(disk.source, 'disk');
  assert.deepEqual(disk.examples, first.examples);
  assert.equal((await loadDataset(join(dir, 'c.jsonl'), tokenizer, { ...options, maxLength: 8 })).source, 'tokenized');
  assert.equal((await loadDataset(join(dir, 'c.jsonl'), tokenizer, { ...options, tokenizerKey: 'other' })).source, 'tokenized');
  writeFileSync(join(dir, 'c.jsonl'), '{"text":"changed"}\n');
  assert.equal((await loadDataset(join(dir, 'c.jsonl'), tokenizer, options)).source, 'tokenized');
});
