// Creating tensors: from JS data, filled, ranges, copies and dtype conversion.
import { DTYPES, checkDType, dtypeOfArray, type DType, type TypedArray } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.js';
import { floatToBf16, floatToF16 } from '../half.js';
import { checkShape, contiguousStrides, numel, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { native } from '../native/index.js';
import { method } from './method.js';

export type NestedArray = number | boolean | bigint | NestedArray[];

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = data;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0]!;
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], dim: number, out: (number | boolean | bigint)[]): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new ShapeError(`ragged nested array: expected a scalar at depth ${dim}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new ShapeError(`ragged nested array: expected ${shape[dim]} elements at depth ${dim} (shape ${formatShape(shape)})`);
  }
  for (const item of data) flatten(item, shape, dim + 1, out);
}

/** Fills a new array of `dtype` from JS numbers, rounding 16-bit floats to nearest even. */
function encode(values: ArrayLike<number | boolean | bigint>, dtype: DType): TypedArray {
  const n = values.length;
  const out = DTYPES[dtype].make(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (dtype) {
      case 'int64':
        (out as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
        break;
      case 'bfloat16':
        out[i] = floatToBf16(Number(v));
        break;
      case 'float16':
        out[i] = floatToF16(Number(v));
        break;
      case 'bool':
        out[i] = v ? 1 : 0;
        break;
      default:
        out[i] = Number(v);
    }
  }
  return out;
}

/**
 * A new tensor from a number, nested arrays or a typed array (always copied). The dtype defaults
 * to the typed array's, bool for booleans, float32 otherwise.
 */
export function tensor(data: NestedArray | TypedArray, shape?: Shape, dtype?: DType): Tensor {
  if (dtype !== undefined) checkDType(dtype);
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const target = dtype ?? dtypeOfArray(arr);
    const finalShape = checkShape(shape ?? [arr.length]);
    if (numel(finalShape) !== arr.length) {
      throw new ShapeError(`tensor(): ${arr.length} values do not fill shape ${formatShape(finalShape)}`);
    }
    if (arr instanceof Uint16Array) {
      if (target !== 'bfloat16' && target !== 'float16') {
        throw new DTypeError('a Uint16Array holds bfloat16 or float16 bits; pass one of those dtypes');
      }
      return Tensor.fromArray(arr.slice(), finalShape, target);
    }
    // Other arrays convert natively (16-bit targets round through float32 as encode() does).
    const sourceDType = dtypeOfArray(arr);
    if (sourceDType === target) return Tensor.fromArray(arr.slice(), finalShape, target);
    const out = Tensor.empty(finalShape, target);
    native.cast(DTYPES[sourceDType].code, arr, 0, DTYPES[target].code, out.buffer, 0, arr.length);
    return out;
  }
  const nested = data as NestedArray;
  const inferred = inferShape(nested);
  const values: (number | boolean | bigint)[] = [];
  flatten(nested, inferred, 0, values);
  const target = dtype ?? (typeof values[0] === 'boolean' ? 'bool' : typeof values[0] === 'bigint' ? 'int64' : 'float32');
  const finalShape = checkShape(shape ?? inferred);
  if (numel(finalShape) !== values.length) {
    throw new ShapeError(`tensor(): ${values.length} values do not fill shape ${formatShape(finalShape)}`);
  }
  return Tensor.fromArray(encode(values, target), finalShape, target);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  checkDType(dtype);
  const out = Tensor.empty(checkShape(shape), dtype);
  const fillValue = encode([value], dtype)[0]!;
  (out.buffer as { fill(v: unknown): unknown }).fill(fillValue);
  return out;
}

export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

export function fullLike(t: Tensor, value: number, dtype: DType = t.dtype): Tensor {
  return full(t.shape, value, dtype);
}

export function zerosLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return full(t.shape, 0, dtype);
}

export function onesLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return full(t.shape, 1, dtype);
}

/** Values start, start+step, ... below end (PyTorch's arange); int64 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, dtype?: DType): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange: step must be a non-zero finite number, not ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const values = Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(values, [n], dtype ?? (integral ? 'int64' : 'float32'));
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, dtype: DType = 'float32'): Tensor {
  const values = Array.from({ length: steps }, (_, i) => (steps === 1 ? start : start + ((end - start) * i) / (steps - 1)));
  return tensor(values, [steps], dtype);
}

/** The n×m identity matrix. */
export function eye(n: number, m = n, dtype: DType = 'float32'): Tensor {
  const out = zeros([n, m], dtype);
  const one = encode([1], dtype)[0]!;
  for (let i = 0; i < Math.min(n, m); i++) (out.buffer as unknown as unknown[])[i * m + i] = one;
  return out;
}

/** A contiguous copy of `t`, converted to `dtype` (no autograd: see `t.to()` / `t.clone()`). */
export function cloneTensor(t: Tensor, dtype: DType = t.dtype): Tensor {
  const out = Tensor.empty(t.shape, dtype);
  if (out.size === 0) return out;
  if (dtype === t.dtype) {
    native.copyStrided(t.buffer, t.offset, [...t.strides], out.buffer, 0, contiguousStrides(t.shape), [...t.shape]);
  } else if (t.isContiguous()) {
    native.cast(DTYPES[t.dtype].code, t.buffer, t.offset, DTYPES[dtype].code, out.buffer, 0, t.size);
  } else {
    const packed = cloneTensor(t);
    native.cast(DTYPES[t.dtype].code, packed.buffer, 0, DTYPES[dtype].code, out.buffer, 0, t.size);
    packed.dispose();
  }
  return out;
}

/** Copies `src` into the (possibly strided) view `dst` in place, broadcasting src; returns dst. */
export function copyInto(dst: Tensor, src: Tensor): Tensor {
  const converted = src.dtype === dst.dtype ? src : cloneTensor(src, dst.dtype);
  const strides = broadcastTo(converted, dst.shape);
  native.copyStrided(converted.buffer, converted.offset, strides, dst.buffer, dst.offset, [...dst.strides], [...dst.shape]);
  if (converted !== src) converted.dispose();
  return dst;
}

function broadcastTo(t: Tensor, shape: Shape): number[] {
  const lead = shape.length - t.ndim;
  if (lead < 0) throw new ShapeError(`cannot copy a tensor of shape ${formatShape(t.shape)} into ${formatShape(shape)}`);
  return shape.map((d, i) => {
    if (i < lead) return 0;
    const s = t.shape[i - lead]!;
    if (s === d) return s === 1 ? 0 : t.strides[i - lead]!;
    if (s === 1) return 0;
    throw new ShapeError(`cannot copy a tensor of shape ${formatShape(t.shape)} into ${formatShape(shape)}`);
  });
}

declare module '../tensor.js' {
  interface Tensor {
    /** Copies `src` (broadcast) into this tensor in place; returns this. */
    copy_(src: Tensor): Tensor;
    /** Fills this tensor in place with `value`; returns this. */
    fill_(value: number): Tensor;
  }
}

Tensor.prototype.copy_ = method(copyInto);
Tensor.prototype.fill_ = method((t: Tensor, value: number) => {
  const src = full([], value, t.dtype);
  copyInto(t, src);
  src.dispose();
  return t;
});
