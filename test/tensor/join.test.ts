import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Generator, IndexError, ShapeError, ValueError, arange, cat, chunk, concat, pad, randn, split, stack, tensor, type Tensor } from '../../src/index.js';
import { gradcheck, param } from '../helpers/gradcheck.js';

const gen = new Generator(7);
const rnd = (shape: number[]) => randn(shape, { generator: gen, dtype: 'float64' });

/** Reference concat of row-major arrays along dim d. */
function concatRef(parts: { data: number[]; shape: number[] }[], d: number): number[] {
  const outer = parts[0]!.shape.slice(0, d).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = p.shape.slice(d).reduce((a, b) => a * b, 1);
      out.push(...p.data.slice(o * block, (o + 1) * block));
    }
  }
  return out;
}

test('concat matches a reference for odd sizes, every dim and negative dims', () => {
  for (const sizes of [[1, 7], [33, 1, 7], [1023, 2]]) {
    for (const dim of [0, 1, 2, -1, -3]) {
      const d = (dim + 3) % 3;
      const shapes = sizes.map((s) => [3, 5, 4].map((v, k) => (k === d ? s : v)));
      const parts = shapes.map(rnd);
      const out = concat(parts, dim);
      assert.deepEqual(out.shape, [3, 5, 4].map((v, k) => (k === d ? sizes.reduce((a, b) => a + b) : v)));
      assert.deepEqual(out.toFlatArray(), concatRef(parts.map((p) => ({ data: p.toFlatArray(), shape: [...p.shape] })), d));
    }
  }
  assert.equal(cat, concat);
});

test('concat reads non-contiguous inputs, promotes dtypes and keeps empty pieces', () => {
  const a = arange(12).reshape([3, 4]).to('float32');
  const out = concat([a.T, tensor([[9, 9, 9]], undefined, 'int32'), a.T.narrow(0, 1, 0)], 0);
  assert.equal(out.dtype, 'float32');
  assert.deepEqual(out.toArray(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11], [9, 9, 9]]);
});

test('concat backward narrows the gradient (gradcheck, transposed and narrowed inputs)', () => {
  gradcheck((a, b, c) => concat([a.T, b.narrow(1, 1, 3), c], -1), [param([4, 3]), param([3, 5]), param([3, 1])]);
  gradcheck((a, b) => concat([a, b.T.mul(2)], 0), [param([2, 3]), param([3, 1])]);
});

test('stack adds a dim and its backward splits the gradient', () => {
  const a = rnd([2, 3]);
  const b = rnd([2, 3]);
  for (const dim of [0, 1, 2, -1]) {
    const out = stack([a, b], dim);
    const d = (dim + 3) % 3;
    assert.deepEqual(out.shape, [2, 3].toSpliced(d, 0, 2));
    assert.deepEqual(out.select(d, 1).toFlatArray(), b.toFlatArray());
  }
  assert.deepEqual(stack([tensor(1), tensor(2)]).toArray(), [1, 2]);
  gradcheck((x, y) => stack([x.T, y], 1), [param([3, 2]), param([2, 3])]);
});

test('split and chunk return views with PyTorch sizes', () => {
  const x = arange(35).reshape([5, 7]).to('float64');
  const sizes = (ts: Tensor[], d: number) => ts.map((t) => t.shape[d]);
  assert.deepEqual(sizes(split(x, 3, 1), 1), [3, 3, 1]);
  assert.deepEqual(sizes(x.split([2, 0, 5], -1), 1), [2, 0, 5]);
  assert.deepEqual(sizes(chunk(x, 3, 1), 1), [3, 3, 1]);
  assert.deepEqual(sizes(x.chunk(4, 0), 0), [2, 2, 1]);
  assert.deepEqual(sizes(chunk(arange(6), 4), 0), [2, 2, 2]); // fewer pieces than asked, as torch
  assert.deepEqual(sizes(chunk(randn([0, 2]), 3), 0), [0, 0, 0]);
  const [first] = split(x, 2, 0);
  assert.equal(first!.storage, x.storage);
  assert.deepEqual(first!.toFlatArray(), x.toFlatArray().slice(0, 14));
  gradcheck((a) => concat(split(a, [1, 2], 1).map((p, i) => p.mul(i + 2)), 1), [param([2, 3])]);
  gradcheck((a) => chunk(a.T, 2, -1)[1]!, [param([3, 4])]);
});

test('property: split then concat gives the tensor back', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      fc.integer({ min: 1, max: 6 }),
      (shape, dimSeed, size) => {
        const x = randn(shape, { generator: gen });
        const dim = (dimSeed % shape.length) - (dimSeed % 2) * shape.length;
        if (shape[(dim + shape.length) % shape.length] === 0) return;
        assert.deepEqual(concat(split(x, size, dim), dim).toFlatArray(), x.toFlatArray());
        assert.deepEqual(concat(chunk(x, size, dim), dim).toFlatArray(), x.toFlatArray());
      },
    ),
    { numRuns: 150 },
  );
});

test('pad adds constant borders in F.pad order and crops with negative amounts', () => {
  const x = arange(6).reshape([2, 3]).to('float32');
  assert.deepEqual(pad(x, [1, 2]).toArray(), [[0, 0, 1, 2, 0, 0], [0, 3, 4, 5, 0, 0]]);
  assert.deepEqual(pad(x, [0, 0, 1, 0], -1).toArray(), [[-1, -1, -1], [0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(pad(x, [-1, 1, 0, -1], 7).toArray(), [[1, 2, 7]]);
  assert.deepEqual(pad(x.T, [1, 0]).toArray(), [[0, 0, 3], [0, 1, 4], [0, 2, 5]]);
  assert.deepEqual(pad(tensor([1, 2], undefined, 'int32'), [2, 0], 5).toArray(), [5, 5, 1, 2]);
  // A 3-D reference: every output element is x at (position - left pad) or the value.
  const y = rnd([2, 3, 4]);
  const p = pad(y, [1, 2, -1, 1, 2, 0], 0.5);
  assert.deepEqual(p.shape, [4, 3, 7]);
  const ya = y.toArray() as number[][][];
  const pa = p.toArray() as number[][][];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 7; k++) {
    const v = ya[i - 2]?.[j + 1]?.[k - 1];
    assert.equal(pa[i]![j]![k], v ?? 0.5);
  }
  gradcheck((a) => pad(a, [2, -1, 1, 1]), [param([3, 4])]);
  gradcheck((a) => pad(a.T, [0, 1, -1, 0, 1, 1], 3), [param([4, 3, 2])]);
});

test('join errors are typed and name the shapes', () => {
  assert.throws(() => concat([rnd([2, 3]), rnd([3, 3])], 1), (e: Error) => e instanceof ShapeError && /tensor 1 has shape \[3, 3\]/.test(e.message));
  assert.throws(() => concat([rnd([2, 3]), rnd([2, 3, 1])]), ShapeError);
  assert.throws(() => concat([tensor(1)]), ShapeError);
  assert.throws(() => concat([]), ValueError);
  assert.throws(() => concat([rnd([2])], 1), IndexError);
  assert.throws(() => stack([rnd([2, 3]), rnd([3, 2])]), (e: Error) => e instanceof ShapeError && /\[3, 2\]/.test(e.message));
  assert.throws(() => stack([]), ValueError);
  assert.throws(() => split(rnd([5]), [2, 2]), (e: Error) => e instanceof ShapeError && /adding up to 5/.test(e.message));
  assert.throws(() => split(rnd([5]), 0), ValueError);
  assert.throws(() => split(rnd([5]), 2, 1), IndexError);
  assert.throws(() => chunk(rnd([5]), 0), ValueError);
  assert.throws(() => pad(rnd([2]), [1]), ValueError);
  assert.throws(() => pad(rnd([2]), [1, 1, 1, 1]), ValueError);
  assert.throws(() => pad(rnd([2]), [-2, -1]), ShapeError);
});
