import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matmul, linear, randn, tensor, Tensor, ShapeError, DTypeError } from '../../src/index.js';
import { gradcheck, param, assertClose } from '../helpers/gradcheck.js';

/** Reference product of [M, K] x [K, N] nested arrays in float64. */
function mm(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
}

test('matmul matches a reference for odd sizes, transposed operands and 1-D cases', () => {
  for (const [m, k, n] of [[1, 1, 1], [7, 33, 5], [33, 7, 1023], [1, 1023, 7]]) {
    const a = randn([m!, k!], { dtype: 'float64' });
    const b = randn([k!, n!], { dtype: 'float64' });
    const ref = mm(a.toArray() as number[][], b.toArray() as number[][]).flat();
    assertClose(matmul(a, b).toFlatArray(), ref, 1e-10, 1e-10, `f64 ${m}x${k}x${n}`);
    assertClose(matmul(a.to('float32'), b.to('float32')).toFlatArray(), ref, 1e-3, 1e-4, `f32 ${m}x${k}x${n}`);
    // the same product through transposed storage
    const at = a.T.contiguous().T;
    const bt = b.T.contiguous().T;
    assertClose(matmul(at, bt).toFlatArray(), ref, 1e-10, 1e-10, `transposed ${m}x${k}x${n}`);
  }
  const v = tensor([1, 2, 3]);
  assert.equal(matmul(v, v).item(), 14);
  assert.deepEqual(matmul(tensor([[1, 0, 0], [0, 2, 0]]), v).toFlatArray(), [1, 4]);
  assert.deepEqual(matmul(v, tensor([[1], [1], [1]])).toFlatArray(), [6]);
});

test('matmul broadcasts batch dimensions', () => {
  const a = randn([2, 1, 3, 4], { dtype: 'float64' });
  const b = randn([5, 4, 2], { dtype: 'float64' });
  const c = matmul(a, b);
  assert.deepEqual(c.shape, [2, 5, 3, 2]);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 5; j++) {
      const ref = mm(a.select(0, i).select(0, 0).toArray() as number[][], b.select(0, j).toArray() as number[][]).flat();
      assertClose(c.select(0, i).select(0, j).toFlatArray(), ref, 1e-12);
    }
  }
});

test('matmul and linear differentiate, with broadcasting and strided inputs', () => {
  gradcheck((a: Tensor, b: Tensor) => matmul(a, b), [param([3, 4]), param([4, 5])]);
  gradcheck((a: Tensor, b: Tensor) => matmul(a, b), [param([2, 3, 4]), param([4, 5])]);
  gradcheck((a: Tensor, b: Tensor) => matmul(a, b), [param([2, 1, 3, 4]), param([3, 4, 2])]);
  gradcheck((a: Tensor, b: Tensor) => matmul(a.T, b.transpose(0, 1)), [param([4, 3]), param([5, 4])]);
  gradcheck((a: Tensor, b: Tensor) => matmul(a, b), [param([4]), param([4, 2])]);
  gradcheck((x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b), [param([2, 3, 4]), param([5, 4]), param([5])]);
  gradcheck((x: Tensor, w: Tensor) => linear(x, w), [param([3, 4]), param([5, 4])]);
});

test('a frozen weight gets no gradient; only the needed GEMMs run', () => {
  const x = randn([3, 4]).requiresGrad_();
  const w = randn([5, 4]);
  linear(x, w).sum().backward();
  assert.equal(w.grad, null);
  assert.deepEqual(x.grad!.shape, [3, 4]);
});

test('bf16 and f16 weights compute in float32 and match the float32 product of the rounded weights', () => {
  const x = randn([9, 33]);
  const w = randn([17, 33]);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const wq = w.to(dtype);
    const y = linear(x, wq);
    assert.equal(y.dtype, 'float32');
    assertClose(y.toFlatArray(), linear(x, wq.to('float32')).toFlatArray(), 1e-4, 1e-4, dtype);
  }
});

test('matmul rejects mismatched shapes and non-float operands', () => {
  assert.throws(() => matmul(randn([2, 3]), randn([4, 2])), ShapeError);
  assert.throws(() => matmul(tensor([1, 2], [2], 'int64'), tensor([1, 2], [2], 'int64')), DTypeError);
  assert.throws(() => linear(randn([2, 3]), randn([4, 5])), ShapeError);
  assert.throws(() => linear(randn([2, 3]), randn([4, 3]), randn([5])), ShapeError);
});
