import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, randn, arange, Tensor, IndexError } from '../../src/index.js';
import { gradcheck, param, assertClose } from '../helpers/gradcheck.js';

/** Reference reduction of a [a, b, c] tensor over one axis. */
function reduceRef(x: Tensor, axis: number, f: (v: number[]) => number): number[] {
  const [a, b, c] = x.shape as [number, number, number];
  const v = x.toFlatArray();
  const out: number[] = [];
  const dims = [a, b, c];
  const idx = (i: number, j: number, k: number) => (i * b + j) * c + k;
  const outer = dims.filter((_, d) => d !== axis);
  for (let p = 0; p < outer[0]!; p++) {
    for (let q = 0; q < outer[1]!; q++) {
      const vals: number[] = [];
      for (let r = 0; r < dims[axis]!; r++) {
        const ijk = axis === 0 ? [r, p, q] : axis === 1 ? [p, r, q] : [p, q, r];
        vals.push(v[idx(ijk[0]!, ijk[1]!, ijk[2]!)]!);
      }
      out.push(f(vals));
    }
  }
  return out;
}

test('sum, mean, max, min, prod over each axis match a reference, odd sizes', () => {
  const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);
  for (const shape of [[1, 7, 33], [3, 1023, 2], [33, 7, 1]] as [number, number, number][]) {
    const x = randn(shape, { dtype: 'float64' });
    for (let axis = 0; axis < 3; axis++) {
      assertClose(x.sum(axis).toFlatArray(), reduceRef(x, axis, sum), 1e-10, 1e-10, `sum ${shape} axis ${axis}`);
      assertClose(x.mean(axis).toFlatArray(), reduceRef(x, axis, (v) => sum(v) / v.length), 1e-10, 1e-10);
      assertClose(x.max(axis).toFlatArray(), reduceRef(x, axis, (v) => Math.max(...v)));
      assertClose(x.min(axis).toFlatArray(), reduceRef(x, axis, (v) => Math.min(...v)));
      assert.deepEqual(x.argmax(axis).toFlatArray(), reduceRef(x, axis, (v) => v.indexOf(Math.max(...v))));
    }
    const small = randn([2, 3, 4], { dtype: 'float64' });
    assertClose(small.prod(1).toFlatArray(), reduceRef(small, 1, (v) => v.reduce((p, x) => p * x, 1)), 1e-12, 1e-10);
  }
});

test('float32 sums of long rows stay accurate', () => {
  const x = randn([4, 100000]);
  const ref = x.to('float64').sum(1).toFlatArray();
  assertClose(x.sum(1).toFlatArray(), ref, 2e-2, 1e-5);
});

test('multi-axis reductions, keepdim, negative axes, full reductions', () => {
  const x = arange(24).to('float32').reshape([2, 3, 4]);
  assert.deepEqual(x.sum([0, 2]).toFlatArray(), [60, 92, 124]);
  assert.deepEqual(x.sum([0, 2], true).shape, [1, 3, 1]);
  assert.deepEqual(x.sum(-1).shape, [2, 3]);
  assert.equal(x.sum().item(), 276);
  assert.equal(x.max().item(), 23);
  assert.equal(x.argmax().item(), 23);
  assert.equal(arange(5).sum().dtype, 'int64');
  assert.deepEqual(tensor([[true, false], [false, false]]).any(1).toArray(), [true, false]);
  assert.deepEqual(tensor([[true, true], [false, true]]).all(0).toArray(), [false, true]);
  assert.throws(() => x.sum(3), IndexError);
});

test('var, std, norm, logsumexp', () => {
  const x = randn([5, 6], { dtype: 'float64' });
  const v = x.toFlatArray();
  const row0 = v.slice(0, 6);
  const m = row0.reduce((s, a) => s + a, 0) / 6;
  const variance = row0.reduce((s, a) => s + (a - m) ** 2, 0) / 5;
  assertClose([x.var(1).toFlatArray()[0]!], [variance], 1e-12);
  assertClose([x.std(1, false, 0).toFlatArray()[0]!], [Math.sqrt((variance * 5) / 6)], 1e-12);
  assertClose([x.norm().item()], [Math.sqrt(v.reduce((s, a) => s + a * a, 0))], 1e-12);
  assertClose([x.norm(1).item()], [v.reduce((s, a) => s + Math.abs(a), 0)], 1e-12);
  assertClose([x.logsumexp(1).toFlatArray()[0]!], [Math.log(row0.reduce((s, a) => s + Math.exp(a), 0))], 1e-12);
  assertClose([tensor([1000, 1000]).logsumexp().item()], [1000 + Math.log(2)], 1e-3);
});

test('reductions differentiate (finite differences)', () => {
  const x = param([3, 4, 5]);
  gradcheck((x: Tensor) => x.sum([0, 2]), [x]);
  gradcheck((x: Tensor) => x.mean(1, true), [x]);
  gradcheck((x: Tensor) => x.max(2), [x]);
  gradcheck((x: Tensor) => x.min([0, 1]), [x]);
  gradcheck((x: Tensor) => x.var(1), [x]);
  gradcheck((x: Tensor) => x.std(-1, true), [x]);
  gradcheck((x: Tensor) => x.norm(2, 1), [x]);
  gradcheck((x: Tensor) => x.logsumexp(2), [x]);
  gradcheck((x: Tensor) => x.transpose(0, 2).sum(1), [x]);
  gradcheck((x: Tensor) => x.prod(1), [x]);
});
