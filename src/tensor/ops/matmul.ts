// Matrix products on the native GEMM: matmul (torch.matmul semantics, batch broadcasting),
// linear (x·Wᵀ + b, fused), and their backward rules. A frozen operand's gradient GEMM is skipped.
import type { DType } from '../dtype.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import { record } from '../autograd.js';
import { broadcastShapes, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { cloneTensor, copyInto } from './create-ops.js';
import { sumToShape } from './reduce.js';
import { method } from './method.js';

/** How one operand's matrices are laid out for the GEMM: transposed or not, row stride, batch stride. */
interface MatrixOperand {
  t: Tensor;
  trans: boolean;
  ld: number;
  batchStride: number;
}

/** The GEMM's code for a B operand it reads as stored (converted inside its packing); other dtypes have none. */
export const GEMM_B_TYPES: Partial<Record<DType, 0 | 1 | 2>> = { float32: 0, bfloat16: 1, float16: 2 };

/**
 * Describes x (shape [...batch, rows, cols], batch broadcast to `batch`) as GEMM operands without a
 * copy when its strides allow: one unit-stride matrix dim and a uniform stride across the batch.
 */
function asMatrices(x: Tensor, batch: number[]): MatrixOperand {
  const r = x.ndim - 2;
  const rows = x.shape[r]!;
  const cols = x.shape[r + 1]!;
  const sr = x.strides[r]!;
  const sc = x.strides[r + 1]!;
  let trans: boolean | null = null;
  let ld = 0;
  if (sc === 1 || cols === 1) {
    trans = false;
    ld = rows === 1 ? Math.max(cols, 1) : sr;
    if (ld < cols) trans = null;
  }
  if (trans === null && (sr === 1 || rows === 1)) {
    trans = true;
    ld = cols === 1 ? Math.max(rows, 1) : sc;
    if (ld < rows) trans = null;
  }
  const batchStride = uniformBatchStride(x, batch);
  if (trans === null || batchStride === null) {
    const packed = cloneTensor(x.expand([...batch, rows, cols]));
    return { t: packed, trans: false, ld: Math.max(cols, 1), batchStride: rows * cols };
  }
  return { t: x, trans, ld, batchStride };
}

/** The single stride that walks x's batch dims (broadcast to `batch`) in order, if there is one. */
function uniformBatchStride(x: Tensor, batch: number[]): number | null {
  const lead = batch.length - (x.ndim - 2);
  const strides = batch.map((d, i) => {
    const own = i >= lead ? x.shape[i - lead]! : 1;
    return own === 1 && d !== 1 ? 0 : i >= lead ? x.strides[i - lead]! : 0;
  });
  const used = batch.map((d, i) => [d, strides[i]!] as const).filter(([d]) => d !== 1);
  if (used.length === 0) return 0;
  if (used.every(([, s]) => s === 0)) return 0;
  for (let i = 0; i + 1 < used.length; i++) {
    if (used[i]![1] !== used[i + 1]![1] * used[i + 1]![0]) return null;
  }
  return used[used.length - 1]![1];
}

/** C = alpha·op(A)·op(B) + beta·C over a broadcast batch; A [..., M, K], B [..., K, N] as given. */
function gemm(a: Tensor, b: Tensor, out: Tensor, batch: number[], alpha = 1, beta = 0): void {
  const M = a.shape[a.ndim - 2]!;
  const K = a.shape[a.ndim - 1]!;
  const N = b.shape[b.ndim - 1]!;
  const count = numel(batch);
  if (out.size === 0) return;
  if (K === 0) {
    if (beta === 0) out.fill_(0);
    return;
  }
  const A = asMatrices(a, batch);
  const B = asMatrices(b, batch);
  if (out.dtype === 'float64') {
    native.gemmF64(A.trans, B.trans, M, N, K, alpha, A.t.buffer as Float64Array, A.t.offset, A.ld, A.batchStride,
      B.t.buffer as Float64Array, B.t.offset, B.ld, B.batchStride, beta, out.buffer as Float64Array, out.offset, N, M * N, count);
  } else {
    native.gemm(A.trans, B.trans, M, N, K, alpha, A.t.buffer as Float32Array, A.t.offset, A.ld, A.batchStride,
      B.t.buffer as Float32Array | Uint16Array, B.t.offset, GEMM_B_TYPES[B.t.dtype]!, B.ld, B.batchStride, beta,
      out.buffer as Float32Array, out.offset, N, M * N, count);
  }
  if (A.t !== a) A.t.dispose();
  if (B.t !== b) B.t.dispose();
}

/** The dtype a product computes in, and its operands converted to what the GEMM accepts. */
function gemmOperands(a: Tensor, b: Tensor): { dtype: DType; a: Tensor; b: Tensor } {
  for (const t of [a, b]) {
    if (!['float32', 'float64', 'bfloat16', 'float16'].includes(t.dtype)) {
      throw new DTypeError(`matmul needs floating-point operands; got ${t.dtype} (convert with .to('float32'))`);
    }
  }
  if (a.dtype === 'float64' || b.dtype === 'float64') {
    return { dtype: 'float64', a: a.to('float64'), b: b.to('float64') };
  }
  // A is always float32; B may stay bf16/f16 (converted inside the GEMM's packing).
  return { dtype: 'float32', a: a.dtype === 'float32' ? a : cloneTensor(a, 'float32'), b };
}

/** Product of the last two dims with broadcasting batch dims, as torch.matmul (1-D operands too). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul: both operands need at least one dimension');
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const M = a2.shape[a2.ndim - 2]!;
  const K = a2.shape[a2.ndim - 1]!;
  const N = b2.shape[b2.ndim - 1]!;
  if (b2.shape[b2.ndim - 2] !== K) {
    throw new ShapeError(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not fit (${K} vs ${b2.shape[b2.ndim - 2]})`);
  }
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  let out = matmulRaw(a2, b2, batch, M, N);
  out = record(out, 'matmul', [a2, b2], (g) => [
    a2.requiresGrad ? sumToShape(matmulRaw(g, transposeLast(b2), batch, M, K), a2.shape) : null,
    b2.requiresGrad ? sumToShape(matmulRaw(transposeLast(a2), g, batch, K, N), b2.shape) : null,
  ], [], otherOperands(a2, b2));
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

/** What a product's backward reads: each operand whose partner needs a gradient. */
function otherOperands(a: Tensor, b: Tensor): Tensor[] {
  return [...(b.requiresGrad ? [a] : []), ...(a.requiresGrad ? [b] : [])];
}

function transposeLast(t: Tensor): Tensor {
  return t.transpose(-2, -1);
}

/** out = a·b without autograd; folds a's batch into its rows when b is a single matrix. */
function matmulRaw(a: Tensor, b: Tensor, batch: number[], M: number, N: number): Tensor {
  const ops = gemmOperands(a, b);
  const out = Tensor.empty([...batch, M, N], ops.dtype);
  const foldable = b.ndim === 2 && a.ndim > 2 && ops.a.isContiguous();
  if (foldable) {
    gemm(ops.a.reshape([numel(a.shape.slice(0, -1)), a.shape[a.ndim - 1]!]), ops.b, out.reshape([numel(batch) * M, N]), []);
  } else {
    gemm(ops.a, ops.b, out, batch);
  }
  if (ops.a !== a) ops.a.dispose();
  if (ops.b !== b) ops.b.dispose();
  return out;
}

/**
 * y = x·Wᵀ + b for x [..., in], W [out, in] (float32, or bf16/f16 frozen weights), b [out].
 * One GEMM forward; backward computes the input gradient, and the weight and bias gradients only
 * when they are trainable (so a frozen base layer costs one GEMM backward, not two).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inFeatures = weight.shape[1];
  if (weight.ndim !== 2 || x.ndim === 0 || x.shape[x.ndim - 1] !== inFeatures) {
    throw new ShapeError(`linear: input ${formatShape(x.shape)} does not fit weight ${formatShape(weight.shape)} (expected [..., ${inFeatures}])`);
  }
  const outFeatures = weight.shape[0]!;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outFeatures)) {
    throw new ShapeError(`linear: bias ${formatShape(bias.shape)} does not fit weight ${formatShape(weight.shape)} (expected [${outFeatures}])`);
  }
  const rows = numel(x.shape.slice(0, -1));
  const x2 = x.reshape([rows, inFeatures!]);
  const ops = gemmOperands(x2, weight);
  const out = Tensor.empty([rows, outFeatures], ops.dtype);
  if (bias) copyInto(out, bias);
  gemm(ops.a, transposeLast(ops.b), out, [], 1, bias ? 1 : 0);
  if (ops.a !== x2) ops.a.dispose();
  if (ops.b !== weight) ops.b.dispose();
  const inputs = bias ? [x2, weight, bias] : [x2, weight];
  // A frozen weight's backward reads only the weight: the input may be freed early (releaseUnread).
  const y = record(out, 'linear', inputs, (g) => [
    x2.requiresGrad ? matmulRaw(g, weight, [], rows, inFeatures!) : null,
    weight.requiresGrad ? castLike(matmulRaw(transposeLast(g), x2, [], outFeatures, inFeatures!), weight) : null,
    bias?.requiresGrad ? castLike(g.sum(0), bias) : null,
  ], [], otherOperands(x2, weight));
  return y.reshape([...x.shape.slice(0, -1), outFeatures]);
}

function castLike(g: Tensor, like: Tensor): Tensor {
  if (g.dtype === like.dtype) return g;
  const out = cloneTensor(g, like.dtype);
  g.dispose();
  return out;
}

declare module '../tensor.js' {
  interface Tensor {
    matmul(other: Tensor): Tensor;
  }
}

Object.assign(Tensor.prototype, { matmul: method(matmul) });
