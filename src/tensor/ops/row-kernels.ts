// Shared plumbing for the row-wise native kernels (softmax, norms, loss): they read contiguous
// float32 or float64 rows. 16-bit floats compute in float32 and convert back.
import type { DType, TypedArray } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { cloneTensor } from './create-ops.js';

/** The float type a row kernel computes in for an input of dtype d. */
export function rowComputeType(d: DType, op: string): 'float32' | 'float64' {
  if (d === 'float64') return 'float64';
  if (d === 'float32' || d === 'bfloat16' || d === 'float16') return 'float32';
  throw new DTypeError(`${op} needs a floating-point tensor, not ${d}`);
}

/** x as a contiguous tensor of dtype `ct` (x itself when it already is one). */
export function packed(x: Tensor, ct: DType): Tensor {
  return x.isContiguous() && x.dtype === ct ? x : cloneTensor(x, ct);
}

/** Frees `t` if it is a temporary made from `original`. */
export function releaseTemp(t: Tensor, original: Tensor): void {
  if (t !== original) t.dispose();
}

/** Converts a kernel result back to the caller's dtype, freeing the intermediate. */
export function castBack(out: Tensor, dtype: DType): Tensor {
  if (out.dtype === dtype) return out;
  const converted = cloneTensor(out, dtype);
  out.dispose();
  return converted;
}

/** Exactly the elements of a contiguous tensor, as the kernels' typed-array argument. */
export function elements<T extends TypedArray = TypedArray>(t: Tensor): T {
  return t.buffer.subarray(t.offset, t.offset + t.size) as T;
}

/** A float32/float64 tensor's elements, as the float kernels take them. */
export function floats(t: Tensor): Float32Array | Float64Array {
  return elements<Float32Array | Float64Array>(t);
}
