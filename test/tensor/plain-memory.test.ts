// Plain code (no tidy, no dispose): results left to the garbage collector give their memory back
// for reuse, memory stays bounded over long synchronous loops, and nothing is reused while any
// tensor or view still refers to it. `using` frees at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, full, memoryStats, native, randn, zeros } from '../../src/index.js';
import { collectGarbage, settleGarbage } from '../helpers/gc.js';
import { FIXTURES, loadCase } from '../helpers/parity.js';

test('`using` releases a tensor when its block ends', () => {
  const { pooledBytes } = memoryStats();
  let escaped;
  {
    using t = randn([256, 256]);
    escaped = t;
    assert.equal(t.disposed, false);
  }
  assert.equal(escaped.disposed, true);
  assert.equal(memoryStats().pooledBytes - pooledBytes, 256 * 256 * 4, 'its buffer is back in the pool');
});

test('a view keeps its storage after the base tensor is dropped and collected', async () => {
  const make = () => full([64, 1024], 7).narrow(0, 32, 8); // the base (256 KiB) is dropped here
  const view = make();
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
    // Same-sized results reuse whatever memory the collector handed back; overwrite it all.
    for (let j = 0; j < 8; j++) void full([64, 1024], -1);
  }
  await settleGarbage();
  for (let j = 0; j < 8; j++) void zeros([64, 1024]).add(-1);
  assert.ok(
    view.toFlatArray().every((v) => v === 7),
    'the view still reads its own values',
  );
});

test('memory the collector hands back is reused, within the pool limit', async () => {
  const limit = native.bufferPoolStats().limitBytes;
  native.setBufferPoolLimit(8 * 2 ** 20);
  try {
    native.clearBufferPool();
    for (let i = 0; i < 16; i++) void randn([1024, 1024]); // 64 MiB dropped without dispose
    await settleGarbage();
    const pooled = memoryStats().collectedPooledBytes;
    assert.ok(pooled > 0 && pooled <= 8 * 2 ** 20, `${pooled} bytes pooled, limit 8 MiB`);
  } finally {
    native.setBufferPoolLimit(limit);
  }
});

test('1,000 plain GPT-2 forwards with a loss keep the resident size bounded', async () => {
  const dir = join(FIXTURES, 'gpt2');
  const { inputs } = await loadCase(dir);
  const model = await AutoModelForCausalLM.fromPretrained(dir);
  const ids = inputs.get('input_ids')!;
  const forward = () => void model.forward({ inputIds: ids, attentionMask: inputs.get('attention_mask'), labels: ids }).loss!.item();
  for (let i = 0; i < 200; i++) forward();
  const start = process.memoryUsage().rss;
  let peak = start;
  for (let i = 0; i < 1000; i++) {
    forward();
    if (i % 50 === 49) peak = Math.max(peak, process.memoryUsage().rss);
  }
  // Each forward leaves ~190 KB of activations and graph behind: held until the loop ends (as a
  // FinalizationRegistry would), 1,000 of them would add ~190 MB.
  const growth = (peak - start) / 2 ** 20;
  assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MB over 1,000 forwards`);
});
