import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tensor, zeros, ones, full, arange, linspace, eye, randn, rand, randint, randperm, bernoulli, manualSeed, Generator,
  Tensor, DisposedError, ShapeError, DTypeError, IndexError, ValueError, PeftError, type DType,
} from '../../src/index.js';

test('tensor() infers shape and dtype from nested arrays and typed arrays', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(tensor([true, false]).dtype, 'bool');
  assert.equal(tensor(new Int32Array([1, 2])).dtype, 'int32');
  assert.equal(tensor(new BigInt64Array([1n, 2n])).dtype, 'int64');
  assert.equal(tensor(new Float64Array(6), [2, 3]).ndim, 2);
  assert.equal(tensor(3.5).item(), 3.5);
  assert.deepEqual(tensor(3.5).shape, []);
});

test('tensor() copies typed arrays, so later writes to the source do not leak in', () => {
  const src = new Float32Array([1, 2, 3]);
  const t = tensor(src);
  src[0] = 100;
  assert.equal(t.data()[0], 1);
  const d = t.data();
  d[1] = 100;
  assert.equal(t.data()[1], 2, 'data() is a copy');
});

test('every dtype round-trips through tensor() and data()', () => {
  const values = [0, 1, -2, 3];
  for (const dtype of ['float32', 'float64', 'bfloat16', 'float16', 'int32', 'int64', 'uint8'] as DType[]) {
    const v = dtype === 'uint8' ? [0, 1, 2, 3] : values;
    const t = tensor(v, [4], dtype);
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.toFlatArray(), v, dtype);
  }
  const b = tensor([1, 0, 1], [3], 'bool');
  assert.deepEqual(b.toArray(), [true, false, true]);
});

test('bfloat16 and float16 round to nearest even, and convert back exactly', () => {
  const x = tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504, 1e-7], [4], 'float32');
  assert.deepEqual(x.to('bfloat16').toFlatArray().slice(0, 2), [1, 1 + 2 ** -6]);
  const h = x.to('float16').toFlatArray();
  assert.equal(h[2], 65504);
  assert.ok(Math.abs(h[3]! - 1e-7) < 6e-8, 'subnormal half');
  assert.equal(tensor([70000]).to('float16').item(), Infinity);
  assert.ok(Number.isNaN(tensor([NaN]).to('bfloat16').item()));
});

test('dtype conversion between integers and floats truncates like PyTorch', () => {
  assert.deepEqual(tensor([1.7, -1.7, 2.5]).to('int32').toFlatArray(), [1, -1, 2]);
  assert.deepEqual(tensor([0, 2, -1]).to('bool').toFlatArray(), [0, 1, 1]);
  assert.deepEqual(tensor([3, 4], [2], 'int64').to('float64').toFlatArray(), [3, 4]);
});

test('creation helpers', () => {
  assert.deepEqual(zeros([2, 2]).toFlatArray(), [0, 0, 0, 0]);
  assert.deepEqual(ones([3], 'int64').toFlatArray(), [1, 1, 1]);
  assert.deepEqual(full([2], 7.5).toFlatArray(), [7.5, 7.5]);
  assert.deepEqual(arange(5).toFlatArray(), [0, 1, 2, 3, 4]);
  assert.equal(arange(5).dtype, 'int64');
  assert.deepEqual(arange(1, 2, 0.25).toFlatArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(linspace(0, 1, 5).toFlatArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
});

test('the seeded generator gives the same bits for the same seed, and sane statistics', () => {
  manualSeed(42);
  const a = randn([1000]).data();
  manualSeed(42);
  const b = randn([1000]).data();
  assert.deepEqual(a, b);
  const g = new Generator(7);
  const x = randn([20000], { generator: g }).toFlatArray();
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean} var ${variance}`);
  const u = rand([10000], { generator: g }).toFlatArray();
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const ints = randint(3, 6, [1000], { generator: g }).toFlatArray();
  assert.deepEqual([...new Set(ints)].sort(), [3, 4, 5]);
  assert.deepEqual(randperm(10, { generator: g }).toFlatArray().sort((p, q) => p - q), [...Array(10).keys()]);
  const mask = bernoulli([10000], 0.3, { generator: g }).toFlatArray();
  assert.ok(Math.abs(mask.reduce((s, v) => s + v, 0) / 10000 - 0.3) < 0.02);
  const state = g.getState();
  const next = g.normal();
  g.setState(state);
  assert.equal(g.normal(), next, 'state save/restore');
});

test('toString is readable and elides large tensors', () => {
  assert.match(tensor([[1, 2], [3, 4]]).toString(), /tensor\(\[\[1\.0000, 2\.0000\],\n\s+\[3\.0000, 4\.0000\]\], dtype=float32\)/);
  const big = zeros([100, 100]).toString();
  assert.ok(big.includes('...') && big.length < 2000);
  assert.match(tensor([1, 2], [2], 'int64').toString(), /\[1, 2\], dtype=int64/);
});

test('item() and bad shapes give typed errors', () => {
  assert.throws(() => tensor([1, 2]).item(), IndexError);
  assert.throws(() => tensor([1, 2, 3], [2, 2]), ShapeError);
  assert.throws(() => tensor([[1, 2], [3]]), ShapeError);
  assert.throws(() => zeros([2, -1]), ValueError);
  assert.throws(() => tensor([1], [1], 'float8' as DType), DTypeError);
  assert.throws(() => tensor([1], [1], 'int32').requiresGrad_(), DTypeError);
  const err = (() => { try { tensor([1, 2]).reshape([3]); } catch (e) { return e; } })();
  assert.ok(err instanceof PeftError && err.code === 'E_SHAPE' && /\[2\].*\[3\]/.test(err.message), String(err));
});

test('a disposed tensor throws DisposedError on use, and dispose is idempotent', () => {
  const t = randn([3]);
  const v = t.reshape([3, 1]);
  t.dispose();
  t.dispose();
  assert.throws(() => t.data(), DisposedError);
  assert.throws(() => t.add(1), DisposedError);
  assert.equal(v.data().length, 3, 'a view keeps the storage alive');
  assert.ok(t.toString().includes('disposed'));
});

test('Tensor is usable with `using` via Symbol.dispose', () => {
  let inner: Tensor;
  {
    using t = zeros([2]);
    inner = t;
  }
  assert.ok(inner.disposed);
});
