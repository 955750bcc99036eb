// The native, multi-threaded twins of ./blockwise.ts and the int8 functions of ./functional.ts
// (native/src/quant/): the same bytes and values (test/quant/kernels.test.ts holds them equal), taking
// float32 or bf16 / f16 sources without a float32 copy. Double quantisation chains them as
// ./functional.ts does.
import { ValueError } from '../tensor/errors.js';
import { native } from '../tensor/native/index.js';
import type { QuantSrcType } from '../tensor/native/quant.js';
import type { QuantState4, QuantStateInt8 } from './state.js';

const SRC_TYPES = { float32: 0, bfloat16: 1, float16: 2 } as const;
/** The element types a quantiser reads: float32 values, or the bits of bf16 / f16 values in a Uint16Array. */
export type QuantSrcDType = keyof typeof SRC_TYPES;

function srcType(src: Float32Array | Uint16Array, dtype: QuantSrcDType): QuantSrcType {
  const type = SRC_TYPES[dtype];
  if (type === undefined)
    throw new ValueError(`quantize: source dtype must be float32, bfloat16 or float16, not ${String(dtype)}`);
  if ((type === 0) !== src instanceof Float32Array) {
    throw new ValueError(
      `quantize: a ${dtype} source must be a ${type === 0 ? 'Float32Array' : 'Uint16Array of its bits'}`,
    );
  }
  return type;
}

/** quantize4bitArray on the native kernels: ceil(n / 2) packed bytes and one float32 absmax per block. */
export function quantize4bitNative(
  values: Float32Array | Uint16Array,
  blockSize: number,
  code: Float32Array,
  dtype: QuantSrcDType = 'float32',
): { packed: Uint8Array; absmax: Float32Array } {
  const type = srcType(values, dtype);
  const packed = new Uint8Array(Math.ceil(values.length / 2));
  const absmax = new Float32Array(Math.ceil(values.length / blockSize));
  native.quantize4bit(values, type, blockSize, code, packed, absmax);
  return { packed, absmax };
}

/** quantize8bitArray on the native kernels: one index into the sorted 256-value code per element. */
export function quantize8bitNative(
  values: Float32Array,
  blockSize: number,
  code: Float32Array,
): { codes: Uint8Array; absmax: Float32Array } {
  const codes = new Uint8Array(values.length);
  const absmax = new Float32Array(Math.ceil(values.length / blockSize));
  native.quantizeBlockwise8bit(values, blockSize, code, codes, absmax);
  return { codes, absmax };
}

/** The weight a QuantState4 stands for (double quantisation undone on the fly), row-major float32. */
export function dequantize4bitNative(state: QuantState4, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(state.shape.reduce((a, b) => a * b, 1));
  native.dequantize4bit(state, result);
  return result;
}

/** quantizeInt8 on the native kernels, for a row-major [rows, cols] weight. */
export function quantizeInt8Native(
  values: Float32Array | Uint16Array,
  rows: number,
  cols: number,
  dtype: QuantSrcDType = 'float32',
): QuantStateInt8 {
  const type = srcType(values, dtype);
  const data = new Int8Array(rows * cols);
  const rowAbsmax = new Float32Array(rows);
  native.quantizeInt8Rows(values, type, rows, cols, data, rowAbsmax);
  return { shape: [rows, cols], data, rowAbsmax };
}

/** dequantizeInt8's values: data * rowAbsmax * (1/127 as float32), row-major. */
export function dequantizeInt8Native(state: QuantStateInt8, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(state.data.length);
  native.dequantizeInt8Rows(state, result);
  return result;
}
