import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, ShapeError, kron, outer, randn, tensor } from '../../src/index.js';
import { gradcheck, param } from '../helpers/gradcheck.js';

const gen = new Generator(3);
const rnd = (shape: number[]) => randn(shape, { generator: gen, dtype: 'float64' });

/** Reference Kronecker product of two row-major tensors of equal rank. */
function kronRef(a: number[], aShape: number[], b: number[], bShape: number[]): number[] {
  const outShape = aShape.map((s, k) => s * bShape[k]!);
  const size = outShape.reduce((p, q) => p * q, 1);
  const flat = (index: number[], shape: number[]) => index.reduce((f, v, k) => f * shape[k]! + v, 0);
  return Array.from({ length: size }, (_, i) => {
    const index = outShape.map((_, k) => Math.floor(i / outShape.slice(k + 1).reduce((p, q) => p * q, 1)) % outShape[k]!);
    return a[flat(index.map((v, k) => Math.floor(v / bShape[k]!)), aShape)]! * b[flat(index.map((v, k) => v % bShape[k]!), bShape)]!;
  });
}

test('outer matches a reference and is differentiable', () => {
  for (const [n, m] of [[1, 1], [7, 33], [33, 1]] as const) {
    const a = rnd([n]);
    const b = rnd([m]);
    const out = outer(a, b);
    assert.deepEqual(out.shape, [n, m]);
    assert.deepEqual(out.toFlatArray(), a.toFlatArray().flatMap((x) => b.toFlatArray().map((y) => x * y)));
  }
  assert.deepEqual(tensor([1, 2]).outer(tensor([3, 4])).toArray(), [[3, 4], [6, 8]]);
  gradcheck((a, b) => outer(a, b), [param([3]), param([4])]);
  gradcheck((a, b) => outer(a.narrow(0, 1, 2), b.T.select(0, 1)), [param([4]), param([3, 2])]);
  assert.throws(() => outer(rnd([2, 2]), rnd([2])), (e: Error) => e instanceof ShapeError && /\[2, 2\]/.test(e.message));
});

test('kron matches a reference for equal and mixed ranks', () => {
  const cases: [number[], number[]][] = [[[2, 3], [3, 2]], [[1, 7], [3, 1]], [[4], [2, 3]], [[2, 1, 3], [2, 2]], [[3], [5]]];
  for (const [as, bs] of cases) {
    const a = rnd(as);
    const b = rnd(bs);
    const rank = Math.max(as.length, bs.length);
    const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
    const out = kron(a, b);
    assert.deepEqual(out.shape, pad(as).map((s, k) => s * pad(bs)[k]!));
    assert.deepEqual(out.toFlatArray(), kronRef(a.toFlatArray(), pad(as), b.toFlatArray(), pad(bs)));
  }
  assert.deepEqual(tensor([[1, 2], [3, 4]]).kron(tensor([[1, 1]])).toArray(), [[1, 1, 2, 2], [3, 3, 4, 4]]);
});

test('kron backward (gradcheck, transposed inputs)', () => {
  gradcheck((a, b) => kron(a, b), [param([2, 3]), param([2, 2])]);
  gradcheck((a, b) => kron(a.T, b), [param([2, 3]), param([3])]);
});
