import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, ValueError, det, eye, inverse, matmul, qr, randn, solve, svd, tensor, truncatedSvd, type DType,
} from '../../src/index.js';
import { gradcheck, param, assertClose } from '../helpers/gradcheck.js';

const shapes: number[][] = [[1, 1], [5, 5], [7, 33], [33, 7], [1, 6], [6, 1], [2, 3, 4, 6], [3, 9, 4]];

/** max |x - y| over all elements. */
function maxDiff(x: Tensor, y: Tensor): number {
  return x.sub(y).abs().max().item();
}

/** max |Mᵀ M - I| for the columns of M (..., rows, cols). */
function orthonormality(M: Tensor): number {
  const k = M.shape[M.ndim - 1]!;
  return maxDiff(matmul(M.transpose(-2, -1), M), eye(k, k, M.dtype));
}

function reconstruct(U: Tensor, S: Tensor, Vh: Tensor): Tensor {
  const k = S.shape[S.ndim - 1]!;
  return matmul(U.narrow(-1, 0, k).mul(S.unsqueeze(-2)), Vh.narrow(-2, 0, k));
}

/** An m x n matrix with the given singular values (orthonormal factors from qr of random matrices). */
function withSingularValues(m: number, n: number, values: number[], dtype: DType = 'float64'): Tensor {
  const k = values.length;
  const left = qr(randn([m, k], { dtype })).Q;
  const right = qr(randn([n, k], { dtype })).Q;
  return matmul(left.mul(tensor(values, [1, k], dtype)), right.transpose(-2, -1));
}

/** Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations (an independent reference). */
function symmetricEigenvalues(a: number[][]): number[] {
  const n = a.length;
  const m = a.map((row) => [...row]);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (m[p]![q] === 0) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * m[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const kp = m[k]![p]!, kq = m[k]![q]!;
          m[k]![p] = c * kp - s * kq;
          m[k]![q] = s * kp + c * kq;
        }
        for (let k = 0; k < n; k++) {
          const pk = m[p]![k]!, qk = m[q]![k]!;
          m[p]![k] = c * pk - s * qk;
          m[q]![k] = s * pk + c * qk;
        }
      }
    }
  }
  return m.map((row, i) => row[i]!);
}

function checkSvd(A: Tensor, full: boolean, tol: number): void {
  const { U, S, Vh } = svd(A, { fullMatrices: full });
  const m = A.shape[A.ndim - 2]!;
  const n = A.shape[A.ndim - 1]!;
  const k = Math.min(m, n);
  const lead = A.shape.slice(0, -2);
  const what = `svd ${A.dtype} [${A.shape}] full=${full}`;
  assert.deepEqual(U.shape, [...lead, m, full ? m : k], what);
  assert.deepEqual(S.shape, [...lead, k], what);
  assert.deepEqual(Vh.shape, [...lead, full ? n : k, n], what);
  const scale = Math.max(1, A.abs().max().item());
  assert.ok(maxDiff(reconstruct(U, S, Vh), A) <= tol * scale, `${what}: reconstruction`);
  assert.ok(orthonormality(U) <= tol, `${what}: U orthonormal`);
  assert.ok(orthonormality(Vh.transpose(-2, -1)) <= tol, `${what}: Vh orthonormal`);
  const s = S.reshape([-1, k]).toArray() as number[][];
  for (const row of s) row.forEach((v, i) => assert.ok(v >= 0 && (i === 0 || v <= row[i - 1]!), `${what}: S descending, nonnegative`));
  // Sign convention: the largest-magnitude entry of each column of U is positive.
  const cols = U.transpose(-2, -1).reshape([-1, U.shape[U.ndim - 2]!]).toArray() as number[][];
  for (const col of cols) {
    const largest = col.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
    assert.ok(largest >= 0, `${what}: sign convention`);
  }
}

test('svd reconstructs A with orthonormal factors: tall, wide, square, 1x1, batched, both dtypes', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? 1e-12 : 2e-5;
    for (const shape of shapes) {
      const A = randn(shape, { dtype });
      checkSvd(A, false, tol);
      checkSvd(A, true, tol);
    }
  }
});

test('svd singular values match eigenvalues of AᵀA found by Jacobi rotations', () => {
  for (const [m, n] of [[6, 4], [4, 6], [5, 5], [9, 2]] as const) {
    const A = randn([m, n], { dtype: 'float64' });
    const S = svd(A).S.toFlatArray();
    const small = m >= n ? A : A.transpose(-2, -1);
    const gram = matmul(small.transpose(-2, -1), small).toArray() as number[][];
    const expected = symmetricEigenvalues(gram).map((v) => Math.sqrt(Math.max(v, 0))).sort((a, b) => b - a);
    assertClose(S, expected, 1e-10, 1e-10, `singular values of [${m}, ${n}]`);
  }
});

test('svd recovers constructed singular values, including repeated and zero ones', () => {
  const cases: [number, number, number[]][] = [
    [8, 5, [9, 4, 4, 1e-3, 0]],
    [5, 8, [3, 3, 3, 0, 0]],
    [12, 12, [1, 1e-4, 1e-8, 1e-12, 0, 0, 0, 0, 0, 0, 0, 0]],
  ];
  for (const [m, n, values] of cases) {
    const A = withSingularValues(m, n, values);
    assertClose(svd(A).S.toFlatArray(), values, 1e-13, 1e-9, `constructed [${m}, ${n}]`);
    checkSvd(A, true, 1e-12);
  }
});

test('svd of rank-deficient and degenerate matrices', () => {
  const X = randn([20, 4], { dtype: 'float64' });
  const Y = randn([4, 15], { dtype: 'float64' });
  const lowRank = matmul(X, Y);
  const S = svd(lowRank).S.toFlatArray();
  for (let i = 4; i < S.length; i++) assert.ok(S[i]! < 1e-12 * S[0]!, `rank 4: S[${i}] = ${S[i]}`);
  checkSvd(lowRank, false, 1e-12);
  checkSvd(lowRank.transpose(-2, -1), true, 1e-12);
  const zero = Tensor.empty([6, 4], 'float64').fill_(0);
  checkSvd(zero, true, 1e-15);
  assert.deepEqual(svd(zero).S.toFlatArray(), [0, 0, 0, 0]);
  const zeroColumn = randn([5, 4], { dtype: 'float64' }).mul(tensor([1, 0, 1, 1], [1, 4], 'float64'));
  checkSvd(zeroColumn, true, 1e-12);
  checkSvd(eye(5, 5, 'float64').mul(-2), true, 1e-15);
  assertClose(svd(eye(5, 5, 'float64').mul(-2)).S.toFlatArray(), [2, 2, 2, 2, 2], 1e-15);
});

test('svd of larger matrices (parallel kernels, batched rotation flushes); float32 agrees with float64', () => {
  const A = randn([300, 240], { dtype: 'float64' });
  checkSvd(A, false, 1e-11);
  const A32 = A.to('float32');
  checkSvd(A32, false, 1e-4);
  const S64 = svd(A).S.toFlatArray();
  assertClose(svd(A32).S.toFlatArray(), S64, 1e-4 * S64[0]!, 0, 'float32 vs float64 singular values');
  const wide = randn([2, 40, 130], { dtype: 'float32' });
  checkSvd(wide, true, 2e-5);
});

test('svd is deterministic, detached, and rejects non-finite input and non-float dtypes', () => {
  const A = randn([40, 30], { dtype: 'float32' });
  const first = svd(A);
  const second = svd(A);
  assert.deepEqual(first.U.data(), second.U.data());
  assert.deepEqual(first.Vh.data(), second.Vh.data());
  const p = param([4, 3]);
  const out = svd(p);
  assert.equal(out.U.requiresGrad || out.S.requiresGrad || out.Vh.requiresGrad, false);
  const bad = tensor([[1, 2], [NaN, 4]], undefined, 'float64');
  assert.throws(() => svd(bad), (e: unknown) => e instanceof ValueError && /NaN or infinity/.test(e.message));
  assert.throws(() => svd(tensor([[1, 2]], undefined, 'int32')), /float32 or float64/);
  assert.throws(() => svd(tensor([1, 2], undefined, 'float32')), /matrix/);
});

test('truncatedSvd returns the top triplets', () => {
  const A = randn([2, 12, 9], { dtype: 'float64' });
  const full = svd(A);
  const top = truncatedSvd(A, 3);
  assert.deepEqual(top.U.shape, [2, 12, 3]);
  assert.deepEqual(top.S.shape, [2, 3]);
  assert.deepEqual(top.Vh.shape, [2, 3, 9]);
  assertClose(top.S.toFlatArray(), full.S.narrow(-1, 0, 3).toFlatArray(), 0, 0);
  assertClose(top.U.toFlatArray(), full.U.narrow(-1, 0, 3).toFlatArray(), 0, 0);
  assertClose(top.Vh.toFlatArray(), full.Vh.narrow(-2, 0, 3).toFlatArray(), 0, 0);
  assert.throws(() => truncatedSvd(A, 10), ValueError);
});

test('qr: Q R = A, Q orthonormal, R upper triangular, LAPACK signs', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    for (const shape of [...shapes, [80, 50], [50, 80]]) {
      const A = randn(shape, { dtype });
      const { Q, R } = qr(A);
      const k = Math.min(shape[shape.length - 2]!, shape[shape.length - 1]!);
      assert.deepEqual(Q.shape, [...shape.slice(0, -1), k]);
      assert.deepEqual(R.shape, [...shape.slice(0, -2), k, shape[shape.length - 1]!]);
      assert.ok(maxDiff(matmul(Q, R), A) <= tol, `qr [${shape}] ${dtype}: reconstruction`);
      assert.ok(orthonormality(Q) <= tol, `qr [${shape}] ${dtype}: orthonormal`);
      const rows = R.reshape([-1, R.shape[R.ndim - 1]!]).toArray() as number[][];
      rows.forEach((row, i) => row.forEach((v, j) => j < i % k && assert.equal(v, 0)));
    }
  }
  // numpy / torch: qr([[1, 2], [3, 4]]) has R = [[-3.1623, -4.4272], [0, -0.6325]].
  const { Q, R } = qr(tensor([[1, 2], [3, 4]], undefined, 'float64'));
  assertClose(R.toFlatArray(), [-Math.sqrt(10), -14 / Math.sqrt(10), 0, -2 / Math.sqrt(10)], 1e-14);
  assertClose(Q.toFlatArray(), [-1, -3, -3, 1].map((v) => v / Math.sqrt(10)), 1e-14);
});

/** A well-conditioned random n x n matrix (batched). */
function wellConditioned(shape: number[], dtype: DType = 'float64'): Tensor {
  const n = shape[shape.length - 1]!;
  return randn(shape, { dtype }).add(eye(n, n, dtype).mul(n));
}

test('solve: A X = B for matrices, vectors, batches and broadcast batches', () => {
  const cases: [number[], number[]][] = [
    [[1, 1], [1, 1]], [[4, 4], [4, 3]], [[4, 4], [4]], [[3, 5, 5], [3, 5]], [[3, 5, 5], [3, 5, 2]],
    [[6, 6], [2, 3, 6, 4]], [[2, 1, 6, 6], [3, 6, 1]], [[40, 40], [40, 70]],
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    for (const [sa, sb] of cases) {
      const A = wellConditioned(sa, dtype);
      const B = randn(sb, { dtype });
      const X = solve(A, B);
      const vector = sb.length === 1 || (sb.length === sa.length - 1 && sb.every((d, i) => d === sa[i]));
      const AX = vector ? matmul(A, X.unsqueeze(-1)).squeeze(-1) : matmul(A, X);
      assert.ok(maxDiff(AX, B.expand(AX.shape)) <= tol * sa[sa.length - 1]!, `solve ${dtype} A [${sa}] B [${sb}]`);
    }
  }
});

test('inverse: A A⁻¹ = I; det: known values, batched, 0 when singular', () => {
  for (const shape of [[1, 1], [7, 7], [4, 3, 3], [60, 60]]) {
    const A = wellConditioned(shape);
    const n = shape[shape.length - 1]!;
    assert.ok(maxDiff(matmul(A, inverse(A)), eye(n, n, 'float64')) <= 1e-13);
  }
  assertClose(det(tensor([[1, 2], [3, 4]], undefined, 'float64')).toFlatArray(), [-2], 1e-14);
  const batch = tensor([[[2, 0, 0], [0, 3, 0], [0, 0, 4]], [[0, 1, 0], [1, 0, 0], [0, 0, 1]], [[1, 2, 3], [2, 4, 6], [1, 1, 1]]], undefined, 'float64');
  assertClose(batch.det().toFlatArray(), [24, -1, 0], 1e-14);
  const A = randn([5, 5], { dtype: 'float64' });
  const product = svd(A).S.toFlatArray().reduce((p, v) => p * v, 1);
  assertClose([Math.abs(det(A).item())], [product], 0, 1e-12, '|det| = product of singular values');
});

test('solve and inverse throw a ValueError naming the shape and pivot for singular matrices', () => {
  const singular = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]], undefined, 'float64');
  const b = randn([3], { dtype: 'float64' });
  assert.throws(() => solve(singular, b), (e: unknown) => e instanceof ValueError && /\[3, 3\] is singular: pivot 2/.test(e.message));
  assert.throws(() => inverse(singular.to('float32')), (e: unknown) => e instanceof ValueError && /singular: pivot 2/.test(e.message));
  assert.throws(() => inverse(Tensor.empty([2, 2], 'float64').fill_(0)), /singular: pivot 0 of its LU factorisation is 0/);
  const batch = wellConditioned([3, 3, 3]).clone();
  batch.select(0, 2).copy_(singular);
  assert.throws(() => inverse(batch), /\[3, 3, 3\] \(matrix 2 of the batch\) is singular/);
  assert.throws(() => solve(tensor([[1, Infinity], [0, 1]], undefined, 'float64'), b.narrow(0, 0, 2)), /NaN or infinity/);
  assert.throws(() => solve(eye(3, 3, 'float64'), randn([4, 2], { dtype: 'float64' })), /does not fit/);
  assert.throws(() => inverse(randn([3, 4], { dtype: 'float64' })), /square/);
});

test('gradcheck: solve (matrix, vector, broadcast), inverse, det', () => {
  gradcheck(solve, [wellConditioned([4, 4]).requiresGrad_(), param([4, 3])]);
  gradcheck(solve, [wellConditioned([2, 3, 3]).requiresGrad_(), param([2, 3])]);
  gradcheck(solve, [wellConditioned([3, 3]).requiresGrad_(), param([2, 3, 2])]);
  gradcheck(solve, [wellConditioned([2, 1, 3, 3]).requiresGrad_(), param([3, 3, 1])]);
  const frozen = wellConditioned([3, 3]);
  gradcheck((B) => solve(frozen, B), [param([3, 2])]);
  gradcheck(inverse, [wellConditioned([2, 4, 4]).requiresGrad_()]);
  gradcheck(det, [param([2, 3, 3])]);
});

test('OFT Cayley transform (I + S)(I - S)⁻¹ is orthogonal and trains through inverse', () => {
  const cayley = (W: Tensor) => {
    const S = W.sub(W.transpose(-2, -1)).mul(0.5);
    const I = eye(5, 5, 'float64');
    return matmul(I.add(S), inverse(I.sub(S)));
  };
  const R = cayley(randn([3, 5, 5], { dtype: 'float64' }));
  assert.ok(orthonormality(R) <= 1e-13);
  gradcheck(cayley, [param([2, 5, 5], 0.5)]);
});

test('det backward at a singular matrix throws', () => {
  const A = tensor([[1, 2], [2, 4]], undefined, 'float64').requiresGrad_();
  const d = det(A);
  assert.equal(Math.abs(d.item()), 0);
  assert.throws(() => d.backward(), /singular \(det = 0\)/);
});
