import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Generator, IndexError, cumsum, randint, randn, sort, tensor, topk } from '../../src/index.js';
import { assertClose, gradcheck, param } from '../helpers/gradcheck.js';

const gen = new Generator(5);
const rnd = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { generator: gen, dtype });

/** Reference: stable sort of each row (NaN largest); returns [values, indices] per row. */
function sortRow(row: number[], descending: boolean): [number[], number[]] {
  const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
  const order = row.map((_, i) => i).sort((a, b) => {
    const [x, y] = [row[a]!, row[b]!];
    if (Number.isNaN(x) !== Number.isNaN(y)) return (Number.isNaN(x) ? 1 : -1) * (descending ? -1 : 1);
    const c = key(x) - key(y);
    return (descending ? -c : c) || 0; // Array.prototype.sort is stable
  });
  return [order.map((i) => row[i]!), order];
}

function rows(flat: number[], n: number): number[][] {
  return Array.from({ length: flat.length / n }, (_, r) => flat.slice(r * n, (r + 1) * n));
}

test('sort matches a stable reference for odd sizes, both orders, floats and ints', () => {
  for (const n of [1, 7, 33, 1023]) {
    for (const descending of [false, true]) {
      const x = randint(-5, 5, [3, n], { generator: gen, dtype: n % 2 ? 'int32' : 'float32' }); // many ties
      const { values, indices } = sort(x, -1, descending);
      assert.equal(values.dtype, x.dtype);
      assert.equal(indices.dtype, 'int64');
      const expected = rows(x.toFlatArray(), n).map((r) => sortRow(r, descending));
      assert.deepEqual(rows(values.toFlatArray(), n), expected.map((e) => e[0]));
      assert.deepEqual(rows(indices.toFlatArray(), n), expected.map((e) => e[1]));
    }
  }
});

test('sort along an inner dim, of views, with NaN, and of 16-bit floats', () => {
  const x = rnd([4, 5, 3]).transpose(0, 2); // [3, 5, 4], non-contiguous
  const { values, indices } = x.sort(1);
  for (let a = 0; a < 3; a++) {
    for (let c = 0; c < 4; c++) {
      const column = Array.from({ length: 5 }, (_, j) => x.select(0, a).select(1, c).toFlatArray()[j]!);
      const [v, i] = sortRow(column, false);
      assert.deepEqual(values.select(0, a).select(1, c).toFlatArray(), v);
      assert.deepEqual(indices.select(0, a).select(1, c).toFlatArray(), i);
    }
  }
  assert.deepEqual(sort(tensor([2, NaN, -1, NaN, 5])).values.toFlatArray(), [-1, 2, 5, NaN, NaN]);
  assert.deepEqual(sort(tensor([2, NaN, -1]), 0, true).indices.toArray(), [1, 0, 2]);
  const half = tensor([3, 1, 2], undefined, 'bfloat16');
  assert.equal(sort(half).values.dtype, 'bfloat16');
  assert.deepEqual(sort(half).values.toArray(), [1, 2, 3]);
  assert.deepEqual(sort(rnd([2, 0])).values.shape, [2, 0]);
});

test('property: sort is a stable permutation in order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 40 }), fc.boolean(), (list, descending) => {
      const { values, indices } = sort(tensor(list), 0, descending);
      const idx = indices.toFlatArray();
      assert.deepEqual([...idx].sort((a, b) => a - b), list.map((_, i) => i));
      assert.deepEqual(values.toFlatArray(), idx.map((i) => list[i]!));
      for (let i = 1; i < idx.length; i++) {
        const [p, q] = [list[idx[i - 1]!]!, list[idx[i]!]!];
        assert.ok(descending ? p >= q : p <= q);
        if (p === q) assert.ok(idx[i - 1]! < idx[i]!, 'equal values keep their order');
      }
    }),
    { numRuns: 200 },
  );
});

test('topk matches the reference for k from 0 to n, largest and smallest, any dim', () => {
  for (const n of [1, 7, 33, 1023]) {
    const x = randint(-20, 20, [2, n], { generator: gen, dtype: 'float32' });
    for (const k of [0, 1, Math.min(3, n), n]) {
      for (const largest of [true, false]) {
        const { values, indices } = topk(x, k, -1, largest);
        const expected = rows(x.toFlatArray(), n).map((r) => sortRow(r, largest).map((a) => a.slice(0, k)));
        assert.deepEqual(values.toArray(), expected.map((e) => e[0]));
        assert.deepEqual(indices.toArray(), expected.map((e) => e[1]));
      }
    }
  }
  const y = rnd([6, 4]);
  const t = y.topk(2, 0);
  assert.deepEqual(t.values.shape, [2, 4]);
  assert.deepEqual(t.values.toArray(), sort(y, 0, true).values.narrow(0, 0, 2).toArray());
  assert.deepEqual(topk(tensor([1, NaN, 3]), 1).indices.toArray(), [1]);
});

test('sort and topk values are differentiable (gradcheck, views, negative dims)', () => {
  gradcheck((x) => sort(x, -1).values, [param([3, 5])]);
  gradcheck((x) => sort(x.T, 0, true).values, [param([3, 4])]);
  gradcheck((x) => topk(x, 2, 1).values, [param([3, 5])]);
  gradcheck((x) => topk(x.narrow(0, 1, 3), 2, -2, false).values, [param([4, 3])]);
});

test('topk rejects k outside [0, n]', () => {
  assert.throws(() => topk(rnd([2, 3]), 4), (e: Error) => e instanceof IndexError && /k = 4/.test(e.message) && /size 3/.test(e.message));
  assert.throws(() => topk(rnd([2, 3]), -1), IndexError);
  assert.throws(() => topk(rnd([2, 3]), 1.5), IndexError);
  assert.throws(() => sort(rnd([2, 3]), 2), IndexError);
});

test('cumsum matches a reference along every dim; integers sum in int64', () => {
  for (const n of [1, 7, 33, 1023]) {
    const x = rnd([3, n, 2]);
    for (const dim of [0, 1, 2, -2]) {
      const d = (dim + 3) % 3;
      const out = cumsum(x, dim).toArray() as number[][][];
      const xa = x.toArray() as number[][][];
      const expected = xa.map((p, a) => p.map((q, b) => q.map((_, c) => {
        let s = 0;
        for (let r = 0; r <= [a, b, c][d]!; r++) s += xa[d === 0 ? r : a]![d === 1 ? r : b]![d === 2 ? r : c]!;
        return s;
      })));
      assertClose(out.flat(2), expected.flat(2), 1e-12, 1e-12, 'cumsum');
    }
  }
  const f32 = rnd([1000], 'float32');
  assertClose(cumsum(f32, 0).toFlatArray(), f32.toFlatArray().map((_, i, a) => a.slice(0, i + 1).reduce((p, q) => p + q, 0)), 1e-4, 1e-5);
  const ints = tensor([[1, 2], [3, 4]], undefined, 'int32');
  assert.equal(cumsum(ints, 0).dtype, 'int64');
  assert.deepEqual(ints.cumsum(0).toArray(), [[1, 2], [4, 6]]);
  assert.deepEqual(cumsum(tensor([true, false, true]), 0).toArray(), [1, 1, 2]);
  assert.deepEqual(cumsum(tensor(3), 0).toArray(), 3);
  assert.deepEqual(cumsum(tensor([1, 2, 3], undefined, 'bfloat16'), 0).toArray(), [1, 3, 6]);
});

test('cumsum backward is a reverse cumsum (gradcheck, views)', () => {
  gradcheck((x) => cumsum(x, 1), [param([3, 5])]);
  gradcheck((x) => cumsum(x.T, -1), [param([4, 3])]);
  gradcheck((x) => cumsum(cumsum(x, 0), -1).narrow(0, 1, 2), [param([3, 2, 2])]);
});
