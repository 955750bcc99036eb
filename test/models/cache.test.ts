// The KV cache grows in place (buffers with room, doubling when full) and hands out views; these
// tests check that decoding through it gives the logits of a full forward, that selectRows works
// on grown buffers, and that keys/values on the autograd tape (prefix tuning) keep their gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, KVCache, ShapeError, concat, noGrad, randn, tensor, tidy } from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff } from '../helpers/parity.js';

test('decoding token by token through a growing cache gives the full forward\'s logits (GPT-2; Llama with grouped-query heads)', async () => {
  for (const name of ['gpt2', 'llama']) {
    const dir = join(FIXTURES, name);
    const { inputs } = await loadCase(dir);
    const model = await AutoModelForCausalLM.fromPretrained(dir);
    const ids = inputs.get('input_ids')!;
    const seq = ids.shape[1]!;
    const full = noGrad(() => model.forward({ inputIds: ids }).logits);
    const cache = new KVCache();
    noGrad(() => {
      // 3 prompt positions, then one at a time: the buffers grow at 4, 7, 13, ... positions.
      let start = 0;
      for (const width of [3, ...new Array(seq - 3).fill(1)]) {
        tidy(() => {
          const step = model.forward({ inputIds: ids.narrow(1, start, width), pastKeyValues: cache }).logits;
          const diff = maxAbsDiff(step, full.narrow(1, start, width));
          assert.ok(diff < 1e-5, `${name}: positions ${start}..${start + width}: max |cached - full| = ${diff}`);
          return null;
        });
        start += width;
        assert.equal(cache.length, start);
        assert.deepEqual(cache.get(0)![0].shape.slice(2, 3), [start]);
      }
    });
    cache.dispose();
  }
});

test('update returns the concatenation of everything written, across growth; get returns the same tensors', () => {
  const cache = new KVCache();
  const pieces = [randn([2, 3, 5, 4]), randn([2, 3, 1, 4]), randn([2, 3, 7, 4]), randn([2, 3, 1, 4])];
  for (let i = 0; i < pieces.length; i++) {
    const [k, v] = cache.update(0, pieces[i]!, pieces[i]!.mul(2));
    const expected = concat(pieces.slice(0, i + 1), 2);
    assert.deepEqual(k.toFlatArray(), expected.toFlatArray());
    assert.deepEqual(v.toFlatArray(), expected.mul(2).toFlatArray());
    assert.deepEqual(cache.get(0), [k, v]);
  }
  assert.equal(cache.length, 14);
  const before = cache.get(0)![0].toFlatArray();
  assert.throws(() => cache.update(0, randn([1, 3, 1, 4]), randn([1, 3, 1, 4])), ShapeError);
  assert.throws(() => cache.update(0, randn([2, 3, 1, 4]), randn([2, 3, 2, 4])), ShapeError);
  assert.throws(() => new KVCache().update(0, randn([2, 3, 1, 4]), randn([2, 3, 2, 4])), ShapeError);
  assert.equal(cache.length, 14, 'a refused update leaves the layer as it was');
  assert.deepEqual(cache.get(0)![0].toFlatArray(), before);
  cache.dispose();
  assert.equal(cache.length, 0);
  assert.equal(cache.get(0), null);
});

test('selectRows after growth keeps the chosen rows; decoding on gives what those rows alone give', async () => {
  const dir = join(FIXTURES, 'llama');
  const { inputs } = await loadCase(dir);
  const model = await AutoModelForCausalLM.fromPretrained(dir);
  const ids = inputs.get('input_ids')!.narrow(1, 0, 6);
  const both = new KVCache();
  const alone = new KVCache();
  noGrad(() => {
    // Grow past the first capacity (4 positions) before selecting.
    for (const [start, width] of [[0, 4], [4, 1], [5, 1]] as const) {
      model.forward({ inputIds: ids.narrow(1, start, width), pastKeyValues: both });
      model.forward({ inputIds: ids.narrow(0, 1, 1).narrow(1, start, width), pastKeyValues: alone });
    }
    both.selectRows(tensor([1], undefined, 'int64'));
    assert.equal(both.length, 6);
    assert.deepEqual(both.get(1)![0].shape, alone.get(1)![0].shape);
    assert.ok(maxAbsDiff(both.get(1)![0], alone.get(1)![0]) < 1e-5);
    const next = tensor([[5]], undefined, 'int64');
    for (let step = 0; step < 3; step++) {
      const a = model.forward({ inputIds: next, pastKeyValues: both }).logits;
      const b = model.forward({ inputIds: next, pastKeyValues: alone }).logits;
      assert.ok(maxAbsDiff(a, b) < 1e-5);
    }
  });
  both.dispose();
  alone.dispose();
});

test('keys and values on the autograd tape are joined by concat: scoped or not, gradients reach them', () => {
  for (const scoped of [true, false]) {
    const prefix = randn([1, 2, 3, 4]).requiresGrad_();
    const cache = new KVCache({ scoped });
    cache.update(0, prefix, prefix);
    const k = randn([1, 2, 2, 4]);
    const [keys, values] = cache.update(0, k, k);
    assert.deepEqual(keys.shape, [1, 2, 5, 4]);
    assert.ok(keys.requiresGrad && values.requiresGrad);
    keys.add(values).sum().backward();
    assert.deepEqual(prefix.grad!.toFlatArray(), new Array(24).fill(2));
    assert.ok(!prefix.disposed, 'the prefix stays alive for backward');
    if (!scoped) cache.dispose();
  }
});
