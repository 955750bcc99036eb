import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tensor, arange, randn, ShapeError, IndexError, Tensor } from '../../src/index.js';
import { gradcheck, param } from '../helpers/gradcheck.js';

/** Reference: element at a multi-index of a nested array. */
function at(nested: unknown, index: number[]): number {
  return index.reduce((v: unknown, i) => (v as unknown[])[i], nested) as number;
}

test('views share storage and index like PyTorch', () => {
  const x = arange(24).to('float32').reshape([2, 3, 4]);
  const t = x.transpose(0, 2);
  assert.deepEqual(t.shape, [4, 3, 2]);
  assert.equal(t.isContiguous(), false);
  const xa = x.toArray();
  const ta = t.toArray();
  for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) assert.equal(at(ta, [i, j, k]), at(xa, [k, j, i]));
  assert.deepEqual(x.narrow(2, 1, 2).select(0, 1).toArray(), [[13, 14], [17, 18], [21, 22]]);
  assert.deepEqual(x.slice(2, 0, 4, 2).select(0, 0).toArray(), [[0, 2], [4, 6], [8, 10]]);
  assert.deepEqual(x.slice(1, -2).shape, [2, 2, 4]);
  assert.deepEqual(tensor([1, 2, 3]).unsqueeze(0).expand([2, 3]).toArray(), [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(randn([1, 3, 1, 2]).squeeze().shape, [3, 2]);
  assert.deepEqual(randn([1, 3, 1, 2]).squeeze(2).shape, [1, 3, 2]);
  assert.deepEqual(randn([2, 3, 4]).flatten(1).shape, [2, 12]);
  assert.deepEqual(x.permute([1, 2, 0]).reshape([-1, 2]).shape, [12, 2]);
  assert.deepEqual(x.T.shape, [2, 4, 3]);
});

test('view() refuses layouts that would need a copy; reshape() copies then', () => {
  const x = randn([3, 4]);
  assert.throws(() => x.T.view([12]), ShapeError);
  assert.deepEqual(x.T.reshape([12]).toFlatArray(), x.T.contiguous().toFlatArray());
  assert.throws(() => x.reshape([5, -1]), ShapeError);
  assert.throws(() => x.narrow(0, 2, 2), IndexError);
  assert.throws(() => x.select(1, 4), IndexError);
  assert.throws(() => x.expand([2, 4]), ShapeError);
  assert.throws(() => x.permute([0, 0]), ShapeError);
  assert.throws(() => x.transpose(0, 2), IndexError);
});

test('property: reshape of any permuted view equals reshape of its contiguous copy', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 23 }), (shape, seed) => {
      const x = randn(shape);
      const order = [...shape.keys()].sort((a, b) => ((a * 7 + seed) % 5) - ((b * 7 + seed) % 5));
      const p = x.permute(order);
      assert.deepEqual(p.reshape([-1]).toFlatArray(), p.contiguous().reshape([-1]).toFlatArray());
      // narrowing then unsqueezing keeps element identity
      const d = seed % shape.length;
      const n = p.narrow(d, 0, p.shape[d]!).unsqueeze(0).squeeze(0);
      assert.deepEqual(n.toFlatArray(), p.toFlatArray());
    }),
    { numRuns: 60 },
  );
});

test('property: broadcasting add matches an explicit loop', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      fc.integer({ min: 0, max: 2 }),
      (shape, ones, drop) => {
        const other = shape.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, shape.length - 1));
        const a = randn(shape);
        const b = randn(other);
        const c = a.add(b);
        assert.deepEqual(c.shape, shape);
        const bx = b.expand(shape).contiguous().toFlatArray();
        const ax = a.toFlatArray();
        c.toFlatArray().forEach((v, i) => assert.ok(Math.abs(v - (ax[i]! + bx[i]!)) < 1e-6));
      },
    ),
    { numRuns: 60 },
  );
});

test('views are differentiable (float64 finite differences)', () => {
  const x = param([2, 3, 4]);
  gradcheck((x: Tensor) => x.transpose(0, 2).reshape([4, 6]).narrow(1, 1, 3), [x]);
  gradcheck((x: Tensor) => x.permute([1, 2, 0]).slice(1, 0, 4, 2).contiguous(), [x]);
  gradcheck((x: Tensor) => x.select(1, 2).unsqueeze(1).expand([2, 5, 4]), [x]);
  gradcheck((x: Tensor) => x.flatten().view([4, 6]).squeeze().T, [x]);
});

test('narrows of one tensor add their gradients into one pending gradient, and never into one another input shares', () => {
  // h's row groups (as a joint batch's): the first narrow's backward makes h's gradient, the
  // others add into it in place; the values are those of zero-padded gradients summed.
  const x = param([4, 3]);
  const h = x.mul(2);
  const weights = [tensor([[1, 2, 3]]), tensor([[4, 5, 6], [7, 8, 9]]), tensor([[10, 11, 12]])];
  [h.narrow(0, 0, 1), h.narrow(0, 1, 2), h.narrow(0, 3, 1), h.narrow(1, 2, 1)]
    .map((part, i) => part.mul(weights[i] ?? 13).sum())
    .reduce((a, b) => a.add(b))
    .backward();
  const rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]];
  assert.deepEqual(x.grad!.toArray(), rows.map((row) => row.map((w, j) => 2 * (w + (j === 2 ? 13 : 0)))));
  // add's backward gives one gradient tensor to both its inputs: a narrow of one of them must not write into it.
  const y = param([2, 2]);
  const a = y.mul(3);
  const b = y.mul(5);
  a.add(b).sum().add(a.narrow(0, 1, 1).sum()).backward();
  assert.deepEqual(y.grad!.toArray(), [[8, 8], [11, 11]]);
});
