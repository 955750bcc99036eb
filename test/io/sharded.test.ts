import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensor, type Tensor } from '../../src/index.js';
import { MissingFileError, SafetensorsError } from '../../src/io/errors.js';
import { openModelWeights } from '../../src/io/safetensors/checkpoint.js';
import { SafetensorsFile, loadSafetensors } from '../../src/io/safetensors/reader.js';
import { INDEX_FILE, ShardedSafetensors } from '../../src/io/safetensors/sharded.js';
import { saveSafetensors } from '../../src/io/safetensors/writer.js';
import { FIXTURES, tempDir } from './helpers.js';

/** Splits the gpt2 fixture into `count` shards the way transformers' save_pretrained does. */
async function shardGpt2(dir: string, count: number): Promise<Map<string, Tensor>> {
  const { tensors } = await loadSafetensors(join(FIXTURES, 'gpt2', 'model.safetensors'));
  const names = [...tensors.keys()];
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let s = 0; s < count; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
    const part = names.filter((_, i) => i % count === s);
    for (const n of part) {
      weightMap[n] = file;
      totalSize += tensors.get(n)!.size * 4;
    }
    await saveSafetensors(join(dir, file), new Map(part.map((n) => [n, tensors.get(n)!])), { format: 'pt' });
  }
  await writeFile(
    join(dir, INDEX_FILE),
    JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2),
  );
  return tensors;
}

test('a sharded checkpoint reads like the single file it was split from', async () => {
  const dir = await tempDir();
  const tensors = await shardGpt2(dir, 3);
  const sharded = await ShardedSafetensors.open(join(dir, INDEX_FILE));
  assert.deepEqual(sharded.keys().sort(), [...tensors.keys()].sort());
  assert.equal(sharded.shardPaths().length, 3);
  assert.equal(typeof sharded.metadata.total_size, 'number');
  for (const [name, t] of tensors) {
    assert.equal(sharded.has(name), true);
    assert.deepEqual((await sharded.info(name)).shape, t.shape);
    const back = await sharded.get(name);
    assert.deepEqual(back.data(), t.data(), name);
  }
  const converted = await sharded.get('transformer.wte.weight', { dtype: 'float64' });
  assert.equal(converted.dtype, 'float64');
  await assert.rejects(
    sharded.get('lm_head.weight'),
    (e: unknown) => e instanceof SafetensorsError && e.tensor === 'lm_head.weight',
  );
  await sharded.close();
  await assert.rejects(sharded.get('transformer.wte.weight'), /closed/);
});

test('openModelWeights picks model.safetensors or the sharded index', async () => {
  const single = await openModelWeights(join(FIXTURES, 'llama'));
  assert.ok(single instanceof SafetensorsFile);
  assert.ok(single.has('model.embed_tokens.weight'));
  await single.close();

  const dir = await tempDir();
  await shardGpt2(dir, 2);
  const sharded = await openModelWeights(dir);
  assert.ok(sharded instanceof ShardedSafetensors);
  assert.deepEqual((await sharded.get('transformer.ln_f.bias')).shape, [32]);
  await sharded.close();

  const empty = await tempDir();
  await assert.rejects(openModelWeights(empty), (e: unknown) => e instanceof MissingFileError && e.paths.length === 2);
});

test('every missing shard is reported when the index is opened', async () => {
  const dir = await tempDir();
  await shardGpt2(dir, 3);
  await rm(join(dir, 'model-00001-of-00003.safetensors'));
  await rm(join(dir, 'model-00003-of-00003.safetensors'));
  await assert.rejects(
    ShardedSafetensors.open(join(dir, INDEX_FILE)),
    (e: unknown) =>
      e instanceof MissingFileError &&
      e.paths.length === 2 &&
      e.message.includes('model-00001-of-00003.safetensors') &&
      e.message.includes('model-00003-of-00003.safetensors') &&
      e.message.includes(INDEX_FILE),
  );
  await assert.rejects(ShardedSafetensors.open(join(dir, 'nope.json')), MissingFileError);
});

test('an index that disagrees with its shards, or is malformed, is a SafetensorsError', async () => {
  const dir = await tempDir();
  const index = join(dir, INDEX_FILE);
  await saveSafetensors(join(dir, 'a.safetensors'), { x: tensor([1, 2]) });
  await writeFile(index, JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }));
  const sharded = await ShardedSafetensors.open(index);
  await assert.rejects(
    sharded.get('x'),
    (e: unknown) => e instanceof SafetensorsError && e.tensor === 'y' && e.message.includes('does not hold it'),
  );
  await sharded.close();

  const bad: [string, RegExp][] = [
    ['not json', /not valid JSON/],
    ['[]', /must be a JSON object/],
    ['{"weight_map": []}', /"weight_map" must be an object/],
    ['{"metadata": 3, "weight_map": {}}', /"metadata" must be an object/],
    ['{"weight_map": {"x": 3}}', /tensor 'x'.*own folder/],
    ['{"weight_map": {"x": "../a.safetensors"}}', /own folder/],
    ['{"weight_map": {"x": "/etc/passwd"}}', /own folder/],
  ];
  for (const [text, message] of bad) {
    await writeFile(index, text);
    await assert.rejects(
      ShardedSafetensors.open(index),
      (e: unknown) => e instanceof SafetensorsError && message.test(e.message),
      text,
    );
  }
});

test('a shard that is itself malformed fails when first read, naming the shard', async () => {
  const dir = await tempDir();
  const index = join(dir, INDEX_FILE);
  await copyFile(join(FIXTURES, 'gpt2', 'config.json'), join(dir, 'a.safetensors'));
  await writeFile(index, JSON.stringify({ weight_map: { x: 'a.safetensors' } }));
  const sharded = await ShardedSafetensors.open(index);
  await assert.rejects(
    sharded.get('x'),
    (e: unknown) => e instanceof SafetensorsError && e.path === join(dir, 'a.safetensors'),
  );
  await sharded.close();
});
