// Small dense linear algebra over the last two dims, batched over the leading ones, float32 and
// float64: svd, truncatedSvd and qr (no gradient: they serve initialisation, and their results
// are detached), and solve, inverse, det (differentiable, through one LU factorisation).
import { promoteTypes, type DType } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.js';
import { needsGrad, record } from '../autograd.js';
import { broadcastShapes, numel, sameShape, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { SvdStatus } from '../native/linalg.js';
import { cloneTensor, eye } from './create-ops.js';
import { mul, neg } from './arith.js';
import { sumToShape } from './reduce.js';
import { matmul } from './matmul.js';
import { method } from './method.js';

type FloatArray = Float32Array | Float64Array;

function checkMatrices(name: string, A: Tensor, square: boolean): void {
  if (A.dtype !== 'float32' && A.dtype !== 'float64') {
    throw new DTypeError(`${name} needs float32 or float64 matrices; got ${A.dtype} (convert with .to('float32'))`);
  }
  if (A.ndim < 2) {
    throw new ShapeError(`${name} needs a matrix or a batch of matrices [..., rows, cols]; got shape ${formatShape(A.shape)}`);
  }
  if (square && A.shape[A.ndim - 1] !== A.shape[A.ndim - 2]) {
    throw new ShapeError(`${name} needs square matrices [..., n, n]; got shape ${formatShape(A.shape)}`);
  }
}

/** A contiguous copy of x broadcast to `shape`, outside the graph. */
function packedCopy(x: Tensor, shape: Shape): Tensor {
  const view = x.detach().expand(shape);
  const out = cloneTensor(view);
  view.dispose();
  return out;
}

/** sumToShape that frees the full-size gradient when it had to reduce it. */
function reduceTo(g: Tensor, shape: Shape): Tensor {
  const out = sumToShape(g, shape);
  if (out !== g) g.dispose();
  return out;
}

function batchNote(index: number, batch: number): string {
  return batch > 1 ? ` (matrix ${index} of the batch)` : '';
}

export interface SvdResult {
  /** [..., m, k] (or [..., m, m] with fullMatrices): left singular vectors as columns. */
  U: Tensor;
  /** [..., k], descending, k = min(m, n). */
  S: Tensor;
  /** [..., k, n] (or [..., n, n] with fullMatrices): right singular vectors as rows. */
  Vh: Tensor;
}

export interface SvdOptions {
  /** Complete U and Vh to square orthogonal matrices, as torch's full_matrices (default false). */
  fullMatrices?: boolean;
}

/**
 * A = U diag(S) Vh, as torch.linalg.svd (Golub-Kahan-Reinsch: Householder bidiagonalisation, then
 * implicitly shifted QR on the bidiagonal). Signs are fixed so that results are deterministic:
 * each column of U has its largest-magnitude entry positive (the first one on ties), and the
 * matching row of Vh follows; with fullMatrices the extra columns of U (rows of Vh) follow the
 * same rule on their own. The results are detached: no gradient flows through svd.
 */
export function svd(A: Tensor, options: SvdOptions = {}): SvdResult {
  checkMatrices('svd', A, false);
  const full = options.fullMatrices ?? false;
  const lead = A.shape.slice(0, -2);
  const m = A.shape[A.ndim - 2]!;
  const n = A.shape[A.ndim - 1]!;
  const k = Math.min(m, n);
  const U = Tensor.empty([...lead, m, full ? m : k], A.dtype);
  const S = Tensor.empty([...lead, k], A.dtype);
  const Vh = Tensor.empty([...lead, full ? n : k, n], A.dtype);
  const batch = numel(lead);
  if (batch === 0) return { U, S, Vh };
  const a = A.isContiguous() ? A : cloneTensor(A);
  const info = new Int32Array(batch);
  native.svd(a.buffer as FloatArray, a.offset, batch, m, n, full, U.buffer as FloatArray, S.buffer as FloatArray, Vh.buffer as FloatArray, info);
  if (a !== A) a.dispose();
  const bad = info.findIndex((status) => status !== SvdStatus.ok);
  if (bad >= 0) {
    for (const t of [U, S, Vh]) t.dispose();
    const what = `svd of shape ${formatShape(A.shape)}${batchNote(bad, batch)}`;
    throw new ValueError(
      info[bad] === SvdStatus.nonFinite
        ? `${what}: the matrix contains NaN or infinity; find where it came from (e.g. a diverged weight)`
        : `${what}: the QR iteration did not converge (a bug worth reporting, with the matrix)`,
    );
  }
  return { U, S, Vh };
}

/** The `rank` largest singular triplets of A (from a full svd): U [..., m, rank], S [..., rank], Vh [..., rank, n]. */
export function truncatedSvd(A: Tensor, rank: number): SvdResult {
  checkMatrices('truncatedSvd', A, false);
  const k = Math.min(A.shape[A.ndim - 2]!, A.shape[A.ndim - 1]!);
  if (!Number.isInteger(rank) || rank < 0 || rank > k) {
    throw new ValueError(`truncatedSvd: rank must be an integer in [0, ${k}] for a matrix of shape ${formatShape(A.shape)}; got ${rank}`);
  }
  const { U, S, Vh } = svd(A);
  if (rank === k) return { U, S, Vh };
  const take = (t: Tensor, dim: number): Tensor => {
    const view = t.narrow(dim, 0, rank);
    const out = cloneTensor(view);
    view.dispose();
    t.dispose();
    return out;
  };
  return { U: take(U, -1), S: take(S, -1), Vh: take(Vh, -2) };
}

/**
 * Reduced QR, as torch.linalg.qr: Q [..., m, k] with orthonormal columns, R [..., k, n] upper
 * triangular, k = min(m, n). Householder reflectors as in LAPACK (geqrf/orgqr), so signs match
 * torch: R's diagonal may be negative. The results are detached: no gradient flows through qr.
 */
export function qr(A: Tensor): { Q: Tensor; R: Tensor } {
  checkMatrices('qr', A, false);
  const lead = A.shape.slice(0, -2);
  const m = A.shape[A.ndim - 2]!;
  const n = A.shape[A.ndim - 1]!;
  const k = Math.min(m, n);
  const Q = Tensor.empty([...lead, m, k], A.dtype);
  const R = Tensor.empty([...lead, k, n], A.dtype);
  const batch = numel(lead);
  if (batch === 0) return { Q, R };
  const a = A.isContiguous() ? A : cloneTensor(A);
  native.qr(a.buffer as FloatArray, a.offset, batch, m, n, Q.buffer as FloatArray, R.buffer as FloatArray);
  if (a !== A) a.dispose();
  return { Q, R };
}

/** P A = L U of every matrix in a batch, with the per-matrix status of the factorisation. */
interface LuFactors {
  lu: Tensor;
  piv: Tensor;
  info: Int32Array;
  batch: number;
  n: number;
}

function luFactor(A: Tensor, shape: Shape): LuFactors {
  const lu = packedCopy(A, shape);
  const n = shape[shape.length - 1]!;
  const batch = numel(shape.slice(0, -2));
  const piv = Tensor.empty(shape.slice(0, -1), 'int32');
  const info = new Int32Array(batch).fill(-1);
  if (lu.size > 0) native.luFactor(lu.buffer as FloatArray, batch, n, piv.buffer as Int32Array, info);
  return { lu, piv, info, batch, n };
}

function disposeFactors(f: LuFactors): void {
  f.lu.dispose();
  f.piv.dispose();
}

/**
 * Throws a ValueError naming the matrix and its pivot when a matrix is singular: a pivot with
 * |u_kk| <= n·eps·max|A| counts as zero (the matrix is singular to working precision).
 */
function throwIfSingular(name: string, shape: Shape, f: LuFactors): void {
  const bad = f.info.findIndex((status) => status !== -1);
  if (bad < 0) return;
  const status = f.info[bad]!;
  const pivot = status >= 0 ? (f.lu.buffer as FloatArray)[bad * f.n * f.n + status * f.n + status]! : NaN;
  disposeFactors(f);
  const what = `${name}: the matrix of shape ${formatShape(shape)}${batchNote(bad, f.batch)}`;
  if (status === -2) throw new ValueError(`${what} contains NaN or infinity`);
  throw new ValueError(
    `${what} is singular: pivot ${status} of its LU factorisation is ${pivot} (at most n·eps·max|A|), so its ` +
      'rows are linearly dependent; check how it was built, or regularise it (add a small multiple of the identity)',
  );
}

/** Identity matrices of `shape` [..., n, n]. */
function identities(shape: Shape, dtype: DType): Tensor {
  const n = shape[shape.length - 1]!;
  const one = eye(n, n, dtype);
  const out = packedCopy(one, shape);
  one.dispose();
  return out;
}

/**
 * X with A X = B, as torch.linalg.solve (LU with partial pivoting). A [..., n, n]; B [..., n, k],
 * or a batch of vectors [..., n] (B.ndim 1, or B.shape == A.shape[:-1]); batch dims broadcast.
 * Differentiable: gB = solve(Aᵀ, g), gA = -gB Xᵀ (reusing the factorisation). A singular matrix
 * throws a ValueError naming its shape and pivot.
 */
export function solve(A: Tensor, B: Tensor): Tensor {
  checkMatrices('solve', A, true);
  if (B.dtype !== 'float32' && B.dtype !== 'float64') {
    throw new DTypeError(`solve needs a float32 or float64 right-hand side; got ${B.dtype} (convert with .to('float32'))`);
  }
  const n = A.shape[A.ndim - 1]!;
  const vector = B.ndim === 1 || (B.ndim === A.ndim - 1 && sameShape(B.shape, A.shape.slice(0, -1)));
  const dtype = promoteTypes(A.dtype, B.dtype);
  const A2 = A.to(dtype);
  const B1 = B.to(dtype);
  const B2 = vector ? B1.unsqueeze(-1) : B1;
  if (B2.ndim < 2 || B2.shape[B2.ndim - 2] !== n) {
    throw new ShapeError(`solve: B of shape ${formatShape(B.shape)} does not fit A of shape ${formatShape(A.shape)}; expected [..., ${n}, k] or [..., ${n}]`);
  }
  const lead = broadcastShapes(A2.shape.slice(0, -2), B2.shape.slice(0, -2));
  const k = B2.shape[B2.ndim - 1]!;
  const f = luFactor(A2, [...lead, n, n]);
  throwIfSingular('solve', A.shape, f);
  const X = packedCopy(B2, [...lead, n, k]);
  if (X.size > 0) native.luSolve(f.lu.buffer as FloatArray, f.piv.buffer as Int32Array, f.batch, n, X.buffer as FloatArray, k, false);
  if (!needsGrad(A2) && !needsGrad(B2)) disposeFactors(f);
  const out = record(X, 'solve', [A2, B2], (g) => {
    const gB = cloneTensor(g);
    if (gB.size > 0) native.luSolve(f.lu.buffer as FloatArray, f.piv.buffer as Int32Array, f.batch, n, gB.buffer as FloatArray, k, true);
    let gA: Tensor | null = null;
    if (A2.requiresGrad) {
      const Xt = X.transpose(-2, -1);
      const product = matmul(gB, Xt);
      Xt.dispose();
      gA = reduceTo(neg(product), A2.shape);
      product.dispose();
    }
    if (B2.requiresGrad) return [gA, reduceTo(gB, B2.shape)];
    gB.dispose();
    return [gA, null];
  }, [f.lu, f.piv, X]);
  return vector ? out.squeeze(-1) : out;
}

/**
 * A⁻¹ for A [..., n, n] (LU with partial pivoting, then n solves). Differentiable:
 * gA = -A⁻ᵀ g A⁻ᵀ. A singular matrix throws a ValueError naming its shape and pivot.
 */
export function inverse(A: Tensor): Tensor {
  checkMatrices('inverse', A, true);
  const n = A.shape[A.ndim - 1]!;
  const f = luFactor(A, A.shape);
  throwIfSingular('inverse', A.shape, f);
  const X = identities(A.shape, A.dtype);
  if (X.size > 0) native.luSolve(f.lu.buffer as FloatArray, f.piv.buffer as Int32Array, f.batch, n, X.buffer as FloatArray, n, false);
  disposeFactors(f);
  return record(X, 'inverse', [A], (g) => {
    const Xt = X.transpose(-2, -1);
    const left = matmul(Xt, g);
    const both = matmul(left, Xt);
    left.dispose();
    Xt.dispose();
    const gA = neg(both);
    both.dispose();
    return [gA];
  }, [X]);
}

/**
 * det(A) for A [..., n, n] (the product of the LU pivots; 0 for a singular matrix, no error).
 * Differentiable where det ≠ 0: gA = g · det · A⁻ᵀ; backward at a singular matrix throws.
 */
export function det(A: Tensor): Tensor {
  checkMatrices('det', A, true);
  const n = A.shape[A.ndim - 1]!;
  const f = luFactor(A, A.shape);
  const out = Tensor.empty(A.shape.slice(0, -2), A.dtype);
  if (n === 0) out.fill_(1);
  else if (f.batch > 0) native.luDet(f.lu.buffer as FloatArray, f.piv.buffer as Int32Array, f.batch, n, out.buffer as FloatArray);
  if (!needsGrad(A)) {
    disposeFactors(f);
    return out;
  }
  return record(out, 'det', [A], (g) => {
    const bad = out.toFlatArray().findIndex((v) => v === 0);
    if (bad >= 0) {
      throw new ValueError(`det backward: the matrix of shape ${formatShape(A.shape)}${batchNote(bad, f.batch)} is singular (det = 0), where this gradient (the adjugate) is not implemented`);
    }
    const invT = identities(A.shape, A.dtype);
    if (invT.size > 0) native.luSolve(f.lu.buffer as FloatArray, f.piv.buffer as Int32Array, f.batch, n, invT.buffer as FloatArray, n, true);
    const scale = mul(g, out);
    const column = scale.reshape([...scale.shape, 1, 1]);
    const gA = mul(invT, column);
    for (const t of [invT, scale, column]) t.dispose();
    return [gA];
  }, [f.lu, f.piv, out]);
}

declare module '../tensor.js' {
  interface Tensor {
    svd(options?: SvdOptions): SvdResult;
    qr(): { Q: Tensor; R: Tensor };
    inverse(): Tensor;
    det(): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  svd: method(svd),
  qr: method(qr),
  inverse: method(inverse),
  det: method(det),
});
