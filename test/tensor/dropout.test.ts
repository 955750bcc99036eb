import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DTypeError, Generator, ValueError, defaultGenerator, dropout, native, ones, randn, tensor } from '../../src/index.js';
import { assertClose, gradcheck, param } from '../helpers/gradcheck.js';

test('the same seed gives the same mask; another seed another mask', () => {
  const x = randn([64, 33]);
  const a = dropout(x, 0.3, true, new Generator(42)).toFlatArray();
  const b = dropout(x, 0.3, true, new Generator(42)).toFlatArray();
  const c = dropout(x, 0.3, true, new Generator(43)).toFlatArray();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const g = new Generator(42);
  const first = dropout(x, 0.3, true, g).toFlatArray();
  assert.notDeepEqual(dropout(x, 0.3, true, g).toFlatArray(), first, 'each call draws a new seed');
});

test('one uint32 is drawn per call, and the mask does not depend on the thread count', () => {
  const g = new Generator(9);
  const reference = new Generator(9);
  dropout(ones([1000]), 0.5, true, g);
  reference.nextUint32();
  assert.equal(g.nextUint32(), reference.nextUint32());
  const x = ones([100_003]);
  const before = native.numThreads();
  try {
    native.setNumThreads(1);
    const serial = dropout(x, 0.4, true, new Generator(1)).toFlatArray();
    native.setNumThreads(4);
    assert.deepEqual(dropout(x, 0.4, true, new Generator(1)).toFlatArray(), serial);
  } finally {
    native.setNumThreads(before);
  }
});

test('kept elements are scaled by 1 / (1 - p) and about 1 - p of them are kept', () => {
  for (const p of [0.1, 0.5, 0.9]) {
    const out = dropout(ones([200_000]), p, true, new Generator(3)).toFlatArray();
    const kept = out.filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 1 / (1 - p)) < 1e-6));
    assert.ok(Math.abs(kept.length / out.length - (1 - p)) < 0.01, `keep rate ${kept.length / out.length} for p = ${p}`);
  }
  for (const dtype of ['float64', 'bfloat16', 'float16'] as const) {
    const out = dropout(ones([1000], dtype), 0.5, true, new Generator(3));
    assert.equal(out.dtype, dtype);
    assert.ok(out.toFlatArray().every((v) => v === 0 || v === 2));
  }
});

test('p = 0 and evaluation return x itself; p = 1 gives zeros', () => {
  const x = randn([5]);
  assert.equal(dropout(x, 0), x);
  assert.equal(dropout(x, 0.5, false), x);
  assert.deepEqual(dropout(x, 1).toFlatArray(), [0, 0, 0, 0, 0]);
  const state = defaultGenerator.getState();
  dropout(x, 0.5, false);
  assert.deepEqual(defaultGenerator.getState(), state, 'no draw when nothing is dropped');
});

test('backward multiplies by the same mask (gradcheck, views)', () => {
  const x = param([6, 7]);
  const out = dropout(x, 0.5, true, new Generator(5));
  out.sum().backward();
  const scale = out.toFlatArray().map((v, i) => v / x.toFlatArray()[i]!);
  assertClose(x.grad!.toFlatArray(), scale, 1e-9, 1e-9, 'gradient');
  assert.ok(scale.some((v) => v === 0) && scale.some((v) => v !== 0));
  gradcheck((a) => dropout(a, 0.3, true, new Generator(8)), [param([4, 5])]);
  gradcheck((a) => dropout(a.T.narrow(0, 1, 3), 0.6, true, new Generator(2)), [param([3, 4])]);
});

test('dropout rejects bad p and integer tensors', () => {
  assert.throws(() => dropout(randn([2]), 1.5), (e: Error) => e instanceof ValueError && /1.5/.test(e.message));
  assert.throws(() => dropout(randn([2]), -0.1), ValueError);
  assert.throws(() => dropout(randn([2]), NaN), ValueError);
  assert.throws(() => dropout(tensor([1, 2], undefined, 'int32'), 0.5), DTypeError);
});
