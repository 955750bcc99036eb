import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DTypeError, Generator, IndexError, ShapeError, ValueError, embedding, gather, indexAdd, indexAdd_, indexSelect, noGrad, native, randint, randn,
  scatter, scatterAdd, tensor, tril, triu, zeros, type Tensor,
} from '../../src/index.js';
import { assertClose, gradcheck, param } from '../helpers/gradcheck.js';

const gen = new Generator(11);
const rnd = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { generator: gen, dtype });
const ids = (values: number[] | number[][], dtype: 'int32' | 'int64' = 'int64') => tensor(values, undefined, dtype);
const randomIds = (high: number, shape: number[], dtype: 'int32' | 'int64' = 'int64') => randint(0, high, shape, { generator: gen, dtype });

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}
function unravel(i: number, shape: readonly number[]): number[] {
  return strides(shape).map((s, k) => Math.floor(i / s) % shape[k]!);
}
function ravel(index: number[], shape: readonly number[]): number {
  return strides(shape).reduce((sum, s, k) => sum + s * index[k]!, 0);
}

test('indexSelect matches a reference for odd sizes, int32/int64 indices, negative dims and views', () => {
  for (const n of [1, 7, 33, 1023]) {
    const x = rnd([3, n, 5]);
    const index = randomIds(n, [9], n % 2 ? 'int64' : 'int32');
    for (const dim of [1, -2]) {
      const out = indexSelect(x, dim, index);
      assert.deepEqual(out.shape, [3, 9, 5]);
      const xa = x.toFlatArray();
      const ia = index.toFlatArray();
      assert.deepEqual(out.toFlatArray(), Array.from({ length: out.size }, (_, i) => {
        const [a, j, c] = unravel(i, out.shape);
        return xa[ravel([a!, ia[j!]!, c!], x.shape)]!;
      }));
    }
  }
  const x = rnd([4, 6]);
  assert.deepEqual(x.T.indexSelect(-1, ids([3, 0])).toArray(), x.indexSelect(0, ids([3, 0])).T.toArray());
  assert.deepEqual(x.indexSelect(1, ids([])).shape, [4, 0]);
  const half = rnd([5, 3]).to('bfloat16');
  assert.deepEqual(indexSelect(half, 0, ids([4, 4, 1])).toFlatArray(), [4, 4, 1].flatMap((r) => half.toFlatArray().slice(r * 3, r * 3 + 3)));
});

test('indexSelect / indexAdd backward accumulates repeated indices (gradcheck)', () => {
  gradcheck((x) => indexSelect(x, 1, ids([2, 0, 2, 2])), [param([3, 4])]);
  gradcheck((x) => indexSelect(x.T, -1, ids([1, 1, 0], 'int32')), [param([3, 4])]);
  const x = param([4, 3]);
  indexSelect(x, 0, ids([1, 1, 1, 3])).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [[0, 0, 0], [3, 3, 3], [0, 0, 0], [1, 1, 1]]);
  assert.deepEqual(indexAdd(zeros([3]), 0, ids([0, 2, 0]), tensor([1, 2, 3])).toArray(), [4, 0, 2]);
  gradcheck((a, s) => indexAdd(a, -1, ids([2, 0, 2]), s), [param([2, 3]), param([2, 3])]);
});

test('embedding gathers rows and its backward sums repeated ids (reference, large table)', () => {
  const [V, D] = [1023, 33];
  const weight = rnd([V, D], 'float32').requiresGrad_();
  const tokens = randomIds(V, [40, 125], 'int32');
  tokens.buffer[0] = tokens.buffer[1] = tokens.buffer[2] = 5; // repeated ids for sure
  const out = embedding(weight, tokens);
  assert.deepEqual(out.shape, [40, 125, D]);
  const w = weight.toFlatArray();
  const t = tokens.toFlatArray();
  assert.deepEqual(out.toFlatArray(), t.flatMap((id) => w.slice(id * D, (id + 1) * D)));
  const g = rnd([40, 125, D], 'float32');
  out.backward(g);
  const expected = new Float64Array(V * D);
  const ga = g.toFlatArray();
  t.forEach((id, j) => { for (let c = 0; c < D; c++) expected[id * D + c]! += ga[j * D + c]!; });
  assertClose(weight.grad!.toFlatArray(), expected, 1e-4, 1e-5, 'embedding grad');
});

test('embedding backward does not depend on the thread count, and skips paddingIdx', () => {
  const weight = rnd([50, 8], 'float32').requiresGrad_();
  const tokens = randomIds(50, [3000]);
  const g = rnd([3000, 8], 'float32');
  const gradWith = (threads: number) => {
    const before = native.numThreads();
    native.setNumThreads(threads);
    try {
      weight.grad = null;
      embedding(weight, tokens).backward(g);
      return weight.grad!.toFlatArray();
    } finally {
      native.setNumThreads(before);
    }
  };
  assert.deepEqual(gradWith(1), gradWith(4));

  const w = param([5, 2]);
  const out = embedding(w, ids([[0, 2], [2, 4]]), -1); // paddingIdx -1 is row 4
  assert.deepEqual(out.shape, [2, 2, 2]);
  out.sum().backward();
  assert.deepEqual(w.grad!.toArray(), [[1, 1], [0, 0], [2, 2], [0, 0], [0, 0]]);
  gradcheck((a) => embedding(a, ids([3, 0, 3, 1], 'int32')), [param([4, 3])]);
  gradcheck((a) => embedding(a.T, ids([[1, 1], [0, 2]])), [param([2, 3])]);
});

test('embedding rejects bad ids and tables with typed errors', () => {
  const w = rnd([5, 2]);
  assert.throws(() => embedding(w, ids([1, 5])), (e: Error) => e instanceof IndexError && /id 5 at position 1/.test(e.message) && /5 rows/.test(e.message));
  assert.throws(() => embedding(w, ids([[0, 1], [-1, 2]], 'int32')), (e: Error) => e instanceof IndexError && /id -1 at flat position 2/.test(e.message));
  assert.throws(() => embedding(w, tensor([1, 2])), DTypeError);
  assert.throws(() => embedding(rnd([5]), ids([1])), ShapeError);
  assert.throws(() => embedding(w, ids([1]), 5), ValueError);
  assert.throws(() => indexSelect(w, 0, ids([0, 9])), (e: Error) => e instanceof IndexError && /index 9/.test(e.message));
  assert.throws(() => indexSelect(w, 0, ids([[0]])), ShapeError);
  assert.throws(() => indexSelect(w, 2, ids([0])), IndexError);
  assert.throws(() => indexAdd(w, 0, ids([0]), rnd([2, 2])), ShapeError);
  assert.throws(() => indexAdd(w, 0, ids([7]), rnd([1, 2])), (e: Error) => e instanceof IndexError && /index 7/.test(e.message));
});

/** Reference gather / scatter over flat arrays: dst coordinate = p with p[d] := index[p]. */
function gatherRef(x: Tensor, d: number, index: Tensor): number[] {
  const xa = x.toFlatArray();
  const ia = index.toFlatArray();
  return ia.map((v, i) => {
    const p = unravel(i, index.shape);
    p[d] = v;
    return xa[ravel(p, x.shape)]!;
  });
}
function scatterRef(x: Tensor, d: number, index: Tensor, src: Tensor, add: boolean): number[] {
  const out = x.toFlatArray();
  const ia = index.toFlatArray();
  const sa = src.toFlatArray();
  ia.forEach((v, i) => {
    const p = unravel(i, index.shape);
    const s = sa[ravel(p, src.shape)]!;
    p[d] = v;
    const at = ravel(p, x.shape);
    out[at] = add ? out[at]! + s : s;
  });
  return out;
}

test('gather matches a reference on strided inputs and negative dims', () => {
  for (const n of [1, 7, 33]) {
    const x = rnd([n, 4, 5]).permute([2, 0, 1]); // [5, n, 4], non-contiguous
    for (const dim of [0, 1, -1]) {
      const d = (dim + 3) % 3;
      const shape = [4, n, 3].map((s, k) => (k === d ? 6 : s));
      const index = randomIds(x.shape[d]!, shape, dim === 1 ? 'int32' : 'int64');
      const out = gather(x, dim, index);
      assert.deepEqual(out.shape, shape);
      assert.deepEqual(out.toFlatArray(), gatherRef(x, d, index));
    }
  }
  assert.deepEqual(rnd([2, 3]).gather(1, ids([[0], [2]])).shape, [2, 1]);
});

test('property: gather equals the reference on random shapes', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 5 }), (shape, seed, m) => {
      const d = seed % shape.length;
      const x = rnd(shape);
      const ishape = shape.map((s, k) => (k === d ? m : Math.max(1, s - (seed % 2))));
      const index = randomIds(shape[d]!, ishape);
      assert.deepEqual(gather(x, d - shape.length, index).toFlatArray(), gatherRef(x, d, index));
    }),
    { numRuns: 100 },
  );
});

test('scatter and scatterAdd match a reference, with repeated indices and small index shapes', () => {
  const x = rnd([5, 6, 4]);
  for (const dim of [0, 1, -1]) {
    const d = (dim + 3) % 3;
    const shape = [3, 5, 2].map((s, k) => (k === d ? 7 : s));
    const src = rnd(shape.map((s) => s + 1));
    const index = randomIds(x.shape[d]!, shape); // 7 draws into a dim of <= 6: repeats
    assert.deepEqual(scatter(x, dim, index, src).toFlatArray(), scatterRef(x, d, index, src, false));
    assertClose(scatterAdd(x, dim, index, src).toFlatArray(), scatterRef(x, d, index, src, true), 1e-12, 1e-12);
    assert.deepEqual(x.scatter(dim, index, 2.5).toFlatArray(), scatterRef(x, d, index, zeros(shape, 'float64').add(2.5), false));
  }
  assert.deepEqual(scatter(zeros([3]), 0, ids([1, 1]), tensor([1, 2])).toArray(), [0, 2, 0]); // the last write wins
  assert.deepEqual(scatterAdd(zeros([3], 'int32'), 0, ids([1, 1, 0]), tensor([1, 2, 3], undefined, 'int32')).toArray(), [3, 3, 0]);
  assert.deepEqual(scatterAdd(zeros([2], 'bfloat16'), 0, ids([1, 1]), tensor([0.5, 0.25])).toArray(), [0, 0.75]);
});

test('gather / scatter / scatterAdd backward (gradcheck, repeated indices, views)', () => {
  const repeated = ids([[0, 0, 2], [1, 1, 1]]);
  gradcheck((x) => gather(x, 1, repeated), [param([2, 4])]);
  gradcheck((x) => gather(x.T, 0, ids([[1, 0], [1, 1]], 'int32')), [param([2, 3])]);
  gradcheck((x, s) => scatterAdd(x, -1, repeated, s), [param([2, 4]), param([3, 4])]);
  // scatter with distinct targets per line (a duplicate has no true derivative to compare with)
  const distinct = ids([[2, 0], [1, 3]]);
  gradcheck((x, s) => scatter(x, 1, distinct, s), [param([2, 4]), param([2, 3])]);
  gradcheck((x, s) => scatter(x.narrow(0, 1, 2), 0, ids([[1, 0, 1]]), s.T), [param([3, 3]), param([3, 2])]);
  const x = param([3]);
  scatter(x, 0, ids([0, 0]), 1).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [0, 1, 1]);
});

test('gather / scatter errors are typed and never crash', () => {
  const x = rnd([3, 4]);
  assert.throws(() => gather(x, 1, ids([[0, 4]])), (e: Error) => e instanceof IndexError && /index 4 at flat position 1/.test(e.message) && /size 4/.test(e.message));
  assert.throws(() => gather(x, 0, ids([[-1]])), (e: Error) => e instanceof IndexError && /index -1/.test(e.message));
  assert.throws(() => gather(x, 0, ids([0])), ShapeError);
  assert.throws(() => gather(x, 0, ids([[0, 0, 0, 0, 0]])), (e: Error) => e instanceof ShapeError && /dim 1/.test(e.message));
  assert.throws(() => gather(x, 0, tensor([[0.5]])), DTypeError);
  assert.throws(() => scatter(x, 1, ids([[9]]), 1), (e: Error) => e instanceof IndexError && /index 9/.test(e.message));
  assert.throws(() => scatter(x, 1, ids([[0, 1]]), rnd([1, 1])), ShapeError);
  assert.throws(() => scatterAdd(x, 0, ids([[3]]), rnd([1, 1])), (e: Error) => e instanceof IndexError && /index 3/.test(e.message));
  assert.throws(() => scatterAdd(x, 2, ids([[0]]), rnd([1, 1])), IndexError);
});

test('tril / triu match a reference for several diagonals and batches', () => {
  const x = rnd([2, 4, 5]);
  const xa = x.toFlatArray();
  for (const diagonal of [-2, -1, 0, 1, 3, 7]) {
    const lower = tril(x, diagonal).toFlatArray();
    const upper = x.triu(diagonal).toFlatArray();
    xa.forEach((v, i) => {
      const [, r, c] = unravel(i, x.shape);
      assert.equal(lower[i], c! - r! <= diagonal ? v : 0);
      assert.equal(upper[i], c! - r! >= diagonal ? v : 0);
    });
  }
  assert.deepEqual(tril(tensor([[1, 2], [3, 4]], undefined, 'int32')).toArray(), [[1, 0], [3, 4]]);
  gradcheck((a) => tril(a.T, -1), [param([3, 4])]);
  gradcheck((a) => triu(a, 1), [param([2, 3, 3])]);
  assert.throws(() => tril(rnd([3])), ShapeError);
  assert.throws(() => triu(rnd([3, 3]), 0.5), ValueError);
});

test('the native index kernels check their buffers instead of crashing', () => {
  const x = new Float32Array(6);
  assert.throws(() => native.indexSelect(x, 0, 2, 3, 2, new Int32Array([0]), 0, 1, new Float32Array(2)), RangeError);
  assert.throws(() => native.gather(x, 0, [3, 1], 100, new BigInt64Array(2), 0, [2, 1], 0, new Float32Array(2)), RangeError);
  assert.throws(() => native.indexAdd(0, x, 1, 3, 2, new Float32Array(1) as unknown as Int32Array, 0, 1, x, 0), TypeError);
  assert.throws(() => native.scatter(0, true, x, 0, [2, 1], 3, new Int32Array(4), 0, x, 0, [2, 1], [4, 2], 1), RangeError);
  assert.throws(() => native.sort(0, x, 0, 2, 4, false, new Float32Array(8), new BigInt64Array(8)), RangeError);
  assert.throws(() => native.topk(0, x, 0, 1, 6, 7, true, new Float32Array(7), new BigInt64Array(7)), RangeError);
  assert.throws(() => native.cumsum(2, new Uint16Array(6), 0, 1, 6, 1, false, new Uint16Array(6)), TypeError);
  assert.throws(() => native.dropout(1, x, 0, 6, 0, 0.5, 2, new Float32Array(6)), RangeError);
  assert.equal(native.indexSelect(x, 0, 1, 3, 2, new Int32Array([3]), 0, 1, new Float32Array(2)), 0);
});

test('indexAdd_ adds rows in place, checks every index before writing, and refuses autograd', () => {
  const x = tensor([[1, 1], [2, 2], [3, 3]]);
  const same = noGrad(() => indexAdd_(x, 0, tensor([2, 0], [2], 'int32'), tensor([[10, 10], [20, 20]])));
  assert.equal(same, x);
  assert.deepEqual(x.toArray(), [[21, 21], [2, 2], [13, 13]]);
  assert.throws(() => indexAdd_(x, 0, tensor([0, 3], [2], 'int32'), tensor([[1, 1], [1, 1]])), /index 3 at position 1/);
  assert.deepEqual(x.toArray(), [[21, 21], [2, 2], [13, 13]], 'a bad index leaves x as it was');
  const w = tensor([[1, 2]]).requiresGrad_();
  assert.throws(() => indexAdd_(x, 0, tensor([0], [1], 'int32'), w), /in place/);
});
