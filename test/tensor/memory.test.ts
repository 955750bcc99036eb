// Memory behaviour: intermediates are released without the GC, resident memory stays flat over a
// training-like loop, and single multi-GB tensors work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearPool, randn, zeros, tidy, noGrad, linear, embedding, tensor, memoryStats, pad, Tensor } from '../../src/index.js';

test('resident memory stays flat over 1,000 training-like steps', () => {
  const w = randn([256, 256]).requiresGrad_();
  const b = randn([256]).requiresGrad_();
  const x = randn([64, 256]);
  const step = () =>
    tidy(() => {
      const loss = linear(x, w, b).tanh().square().mean();
      loss.backward();
      noGrad(() => {
        w.copy_(w.sub(w.grad!.mul(1e-3)));
        b.copy_(b.sub(b.grad!.mul(1e-3)));
      });
      for (const p of [w, b]) {
        p.grad!.dispose();
        p.grad = null;
      }
      return null;
    });
  for (let i = 0; i < 100; i++) step();
  const live = memoryStats().liveBytes;
  const rss = process.memoryUsage().rss;
  for (let i = 0; i < 1000; i++) step();
  assert.equal(memoryStats().liveBytes, live, 'no tensor outlives its step');
  const growth = process.memoryUsage().rss - rss;
  // 1,000 steps allocate ~1.5 GB of intermediates in total; without prompt release RSS would climb.
  assert.ok(growth < 32 * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB`);
});

test('a 128256 x 4096 bfloat16 embedding table (1 GB) works', () => {
  const table = zeros([128256, 4096], 'bfloat16');
  assert.equal(table.size, 128256 * 4096);
  noGrad(() => table.narrow(0, 128255, 1).fill_(1.5));
  const rows = embedding(table, tensor([[0, 128255]], undefined, 'int64'));
  assert.deepEqual(rows.shape, [1, 2, 4096]);
  const values = rows.to('float32').toFlatArray();
  assert.equal(values[0], 0);
  assert.equal(values[4096], 1.5);
  table.dispose();
  rows.dispose();
});

test('tensors freed by dispose return their bytes at once', () => {
  const before = memoryStats().liveBytes;
  const t: Tensor = randn([1024, 1024]);
  assert.equal(memoryStats().liveBytes - before, 4 * 2 ** 20);
  t.dispose();
  assert.equal(memoryStats().liveBytes, before);
});

test('backward through a narrow, slice or pad frees the gradients it makes once they are consumed', () => {
  // h is an intermediate: the gradient these ops give it is consumed (by mul's backward) and
  // freed; a view of it left alive in their backward kept its memory until the scope ended.
  const cuts: [string, (h: Tensor) => Tensor][] = [
    ['narrow', (h) => h.narrow(0, 0, 128)],
    ['slice', (h) => h.slice(0, 0, 256, 2)],
    ['pad', (h) => pad(h, [0, 0, -1, 1])],
  ];
  for (const [name, cut] of cuts) {
    const x = randn([256, 256]).requiresGrad_();
    tidy(() => {
      const loss = cut(x.mul(2)).sum();
      const before = memoryStats().liveBytes;
      loss.backward();
      // What stays: x.grad (256 KiB), nothing of h's gradient.
      assert.equal(memoryStats().liveBytes - before, 256 * 256 * 4, name);
      return null;
    });
    x.grad!.dispose();
    x.dispose();
  }
});

test('a released buffer serves a slightly smaller tensor, not a much smaller one', () => {
  clearPool();
  const big = zeros([1000, 256]);
  big.dispose();
  const slightly = zeros([900, 256]); // 10 % smaller: takes the released buffer, zero-filled as asked
  assert.equal(memoryStats().pooledBytes, 0);
  assert.ok(slightly.toFlatArray().every((v) => v === 0));
  slightly.dispose();
  const half = zeros([500, 256]); // half the size: new memory, the released buffer stays pooled
  assert.equal(memoryStats().pooledBytes, 1000 * 256 * 4);
  half.dispose();
  clearPool();
});
