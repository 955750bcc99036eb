// Calls into the native elementwise kernels: dtype handling (16-bit floats compute in float32,
// integers promote to float32 where the op needs it) and broadcasting via strides.
import { DTYPES, isFloating, promoteTypes, type DType } from '../dtype.js';
import { broadcastShapes, broadcastStrides } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { BinaryOp, UnaryOp } from '../native/elementwise.js';
import { cloneTensor, copyInto, full } from './create-ops.js';

export type Scalar = number;
export type Operand = Tensor | Scalar;

/** Unary ops that are exact on integers (everything else computes in float32). */
const INTEGER_UNARY = new Set([UnaryOp.neg, UnaryOp.abs, UnaryOp.sign, UnaryOp.square, UnaryOp.addScalar, UnaryOp.mulScalar, UnaryOp.rsubScalar, UnaryOp.clamp, UnaryOp.logicalNot, UnaryOp.relu]);
const INTEGER_BINARY = new Set([BinaryOp.add, BinaryOp.sub, BinaryOp.mul, BinaryOp.maximum, BinaryOp.minimum]);
const COMPARISONS = new Set([BinaryOp.eq, BinaryOp.ne, BinaryOp.lt, BinaryOp.le, BinaryOp.gt, BinaryOp.ge, BinaryOp.and, BinaryOp.or]);

/** The dtype a kernel runs in for inputs of dtype `d`. */
function computeType(d: DType, exactOnIntegers: boolean): DType {
  if (d === 'bfloat16' || d === 'float16') return 'float32';
  if (!isFloating(d) && !exactOnIntegers) return 'float32';
  return d;
}

function asType(t: Tensor, d: DType): Tensor {
  return t.dtype === d ? t : cloneTensor(t, d);
}

function release(t: Tensor, original: Tensor): void {
  if (t !== original) t.dispose();
}

/** y = op(x); the result has x's dtype (or float32 for an integer x and a float-only op). */
export function unaryKernel(op: UnaryOp, x: Tensor, s0 = 0, s1 = 0): Tensor {
  const exact = INTEGER_UNARY.has(op) && Number.isInteger(s0) && Number.isInteger(s1);
  const ct = computeType(x.dtype, exact);
  const xin = asType(x, ct);
  const out = Tensor.empty(x.shape, ct);
  if (out.size > 0) {
    native.unary(op, DTYPES[ct].code, xin.buffer, xin.offset, [...x.shape], [...xin.strides], out.buffer, s0, s1);
  }
  release(xin, x);
  const resultType = isFloating(x.dtype) ? x.dtype : ct;
  if (resultType === ct) return out;
  const converted = cloneTensor(out, resultType);
  out.dispose();
  return converted;
}

/** Scalars become 0-d tensors of the other operand's dtype (float32 if a fraction meets an integer tensor). */
export function toTensors(a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') return [full([], a), full([], b)];
  if (typeof a === 'number') return [full([], a, scalarType(a, (b as Tensor).dtype)), b as Tensor];
  if (typeof b === 'number') return [a, full([], b, scalarType(b, a.dtype))];
  return [a, b];
}

function scalarType(v: number, other: DType): DType {
  if (other === 'bool' && v !== 0 && v !== 1) return 'float32';
  if (!isFloating(other) && !Number.isInteger(v)) return 'float32';
  return other;
}

/** out = op(a, b) broadcast; comparisons give bool. */
export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const promoted = promoteTypes(a.dtype, b.dtype);
  const ct = computeType(promoted, INTEGER_BINARY.has(op) || COMPARISONS.has(op));
  const shape = broadcastShapes(a.shape, b.shape);
  const ain = asType(a, ct);
  const bin = asType(b, ct);
  const compare = COMPARISONS.has(op);
  const out = Tensor.empty(shape, compare ? 'bool' : ct);
  if (out.size > 0) {
    native.binary(op, DTYPES[ct].code, ain.buffer, ain.offset, broadcastStrides(a.shape, ain.strides, shape),
      bin.buffer, bin.offset, broadcastStrides(b.shape, bin.strides, shape), shape, out.buffer);
  }
  release(ain, a);
  release(bin, b);
  // Integer inputs to a float-only op (true division, pow, ...) give float32, as in PyTorch.
  const resultType = isFloating(promoted) || INTEGER_BINARY.has(op) ? promoted : ct;
  if (compare || resultType === ct) return out;
  const converted = cloneTensor(out, resultType);
  out.dispose();
  return converted;
}

/**
 * dst = dst + src (src broadcast to dst's shape) in dst's own memory, outside autograd: the values
 * binaryKernel(add, dst, src) gives, without an output-sized temporary where dst is contiguous
 * and both are the same float type (elementwise, so reading and writing one place is safe).
 */
export function addInPlace(dst: Tensor, src: Tensor): void {
  if (dst.size === 0) return;
  if (!dst.isContiguous() || src.dtype !== dst.dtype || (dst.dtype !== 'float32' && dst.dtype !== 'float64')) {
    const sum = binaryKernel(BinaryOp.add, dst, src);
    copyInto(dst, sum);
    sum.dispose();
    return;
  }
  const out = dst.buffer.subarray(dst.offset, dst.offset + dst.size);
  native.binary(BinaryOp.add, DTYPES[dst.dtype].code, dst.buffer, dst.offset, [...dst.strides],
    src.buffer, src.offset, broadcastStrides(src.shape, src.strides, dst.shape), [...dst.shape], out);
}

/** out = cond ? a : b, broadcast. */
export function whereKernel(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const dtype = promoteTypes(a.dtype, b.dtype);
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
  const c = asType(cond, 'bool');
  const ain = asType(a, dtype);
  const bin = asType(b, dtype);
  const out = Tensor.empty(shape, dtype);
  if (out.size > 0) {
    native.where(DTYPES[dtype].code, c.buffer as Uint8Array, c.offset, broadcastStrides(cond.shape, c.strides, shape),
      ain.buffer, ain.offset, broadcastStrides(a.shape, ain.strides, shape),
      bin.buffer, bin.offset, broadcastStrides(b.shape, bin.strides, shape), shape, out.buffer);
  }
  release(c, cond);
  release(ain, a);
  release(bin, b);
  return out;
}
