// Whole-tensor quantisation on the native kernels (native/src/quant/): raw buffers in, the QuantState
// objects of ./state.ts out, bit-exact with bitsandbytes (csrc/kernels.cu kQuantizeBlockwise for 4-bit
// and the nested 8-bit step; functional.py quantize_4bit for how double quantisation chains them).
import { ValueError } from '../tensor/errors.js';
import { native } from '../tensor/native/index.js';
import type { QuantSrcType } from '../tensor/native/quant.js';
import type { NestedAbsmax, QuantState4, QuantStateInt8, QuantType4 } from './state.js';

/** bitsandbytes' NF4 code (functional.py get_4bit_type('nf4')): quantiles of N(0, 1), scaled to [-1, 1]. */
export const NF4_CODE = new Float32Array([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/**
 * bitsandbytes' FP4 code (get_4bit_type('fp4')): 1 sign bit, 2 exponent bits, 1 mantissa bit, in bit
 * order, divided in float32 by its largest magnitude (12).
 */
export const FP4_CODE = new Float32Array(
  [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => Math.fround(v / 12)),
);

export function code4(quantType: QuantType4): Float32Array {
  return quantType === 'nf4' ? NF4_CODE : FP4_CODE;
}

/**
 * bitsandbytes' signed 8-bit dynamic code (functional.py create_dynamic_map(signed=True)), the code of
 * the nested absmax: for i = 0..6, the midpoints of torch.linspace(0.1, 1, 2^i + 1) (float32, computed
 * as torch's scalar CPU kernel does: start + step·k below halfway, end - step·(n - 1 - k) above) times
 * 10^(i - 6), both signs, plus 0 and 1, sorted. Files carry their own code (nested_quant_map); this one
 * is for quantising here.
 */
export function dynamicMap(): Float32Array {
  const f = Math.fround;
  const data: number[] = [];
  for (let i = 0; i < 7; i++) {
    const n = 2 ** i + 1;
    const start = f(0.1);
    const end = 1;
    const step = f(f(end - start) / (n - 1));
    const halfway = Math.floor(n / 2);
    const boundaries = Array.from({ length: n }, (_, k) =>
      k < halfway ? f(start + f(step * k)) : f(end - f(step * (n - 1 - k))),
    );
    const scale = f(10 ** (i - 6));
    for (let k = 0; k + 1 < n; k++) {
      const mean = f(f(boundaries[k]! + boundaries[k + 1]!) / 2);
      data.push(f(scale * mean), -f(scale * mean));
    }
  }
  data.push(0, 1);
  return new Float32Array(data.sort((a, b) => a - b));
}

const SRC_TYPES = { float32: 0, bfloat16: 1, float16: 2 } as const;
export type QuantSrcDType = keyof typeof SRC_TYPES;

export interface Quantize4Options {
  quantType: QuantType4;
  /** Elements per block: a power of two from 32 to 4096 (default 64). */
  blockSize?: number;
  /** Quantise the block absmax too (bitsandbytes' compress_statistics): 256 per nested block. */
  doubleQuant?: boolean;
  /** The nested absmax's 256-value code (default: dynamicMap()). */
  nestedCode?: Float32Array;
}

function checkSource(src: Float32Array | Uint16Array, dtype: QuantSrcDType, shape: readonly number[]): QuantSrcType {
  const type = SRC_TYPES[dtype];
  if (type === undefined)
    throw new ValueError(`quantize: source dtype must be float32, bfloat16 or float16, got ${String(dtype)}`);
  if ((type === 0) !== src instanceof Float32Array) {
    throw new ValueError(
      `quantize: a ${dtype} source must be a ${type === 0 ? 'Float32Array' : 'Uint16Array of the bits'}`,
    );
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel !== src.length) {
    throw new ValueError(
      `quantize: shape [${shape.join(', ')}] has ${numel} elements but the source holds ${src.length}`,
    );
  }
  return type;
}

/** The mean of float32 values as one float32 (accumulated in double: torch's float32 mean to within its last bit). */
function meanF32(x: Float32Array): number {
  let sum = 0;
  for (const v of x) sum += v;
  return Math.fround(sum / x.length);
}

/** bitsandbytes' quantize_4bit of a float32 / bf16 / f16 tensor (given as its flat row-major data). */
export function quantize4bitData(
  src: Float32Array | Uint16Array,
  dtype: QuantSrcDType,
  shape: readonly number[],
  options: Quantize4Options,
): QuantState4 {
  const type = checkSource(src, dtype, shape);
  const blockSize = options.blockSize ?? 64;
  if (options.quantType !== 'nf4' && options.quantType !== 'fp4') {
    throw new ValueError(`quantize4bit: quantType must be 'nf4' or 'fp4', got ${String(options.quantType)}`);
  }
  const blocks = Math.ceil(src.length / blockSize);
  const packed = new Uint8Array(Math.ceil(src.length / 2));
  const absmax = new Float32Array(blocks);
  native.quantize4bit(src, type, blockSize, options.quantType, packed, absmax);
  const state: QuantState4 = {
    quantType: options.quantType,
    shape: [...shape],
    blockSize,
    packed,
    code: code4(options.quantType),
    absmax,
    nested: null,
  };
  if (!options.doubleQuant) return state;
  state.nested = quantizeAbsmax(absmax, options.nestedCode ?? dynamicMap());
  state.absmax = null;
  return state;
}

/** functional.py quantize_4bit's compress_statistics: (absmax - mean) quantised blockwise (256) with the dynamic code. */
function quantizeAbsmax(absmax: Float32Array, code: Float32Array): NestedAbsmax {
  if (code.length !== 256) throw new ValueError(`quantize4bit: nestedCode must hold 256 values, got ${code.length}`);
  const blockSize = 256;
  const offset = meanF32(absmax);
  const centred = absmax.map((v) => v - offset); // float32 subtraction: Float32Array.map rounds each result
  const codes = new Uint8Array(absmax.length);
  const scales = new Float32Array(Math.ceil(absmax.length / blockSize));
  native.quantizeBlockwise8bit(centred, blockSize, code, codes, scales);
  return { codes, code, absmax: scales, blockSize, offset };
}

/** dequantize_4bit: the float32 values, row-major (into `out` when given). */
export function dequantize4bitData(state: QuantState4, out?: Float32Array): Float32Array {
  const numel = state.shape.reduce((a, b) => a * b, 1);
  const result = out ?? new Float32Array(numel);
  native.dequantize4bit(state, result);
  return result;
}

/** Row-wise absmax int8 of a 2-D weight [rows, cols] (bitsandbytes' int8_vectorwise_quant without outliers). */
export function quantizeInt8Data(
  src: Float32Array | Uint16Array,
  dtype: QuantSrcDType,
  shape: readonly number[],
): QuantStateInt8 {
  const type = checkSource(src, dtype, shape);
  if (shape.length !== 2)
    throw new ValueError(`quantizeInt8: the weight must be 2-D [rows, cols], got [${shape.join(', ')}]`);
  const [rows, cols] = shape as [number, number];
  const data = new Int8Array(rows * cols);
  const rowAbsmax = new Float32Array(rows);
  native.quantizeInt8Rows(src, type, rows, cols, data, rowAbsmax);
  return { shape: [rows, cols], data, rowAbsmax };
}

/** int8_vectorwise_dequant: data * rowAbsmax * (1/127 as float32), row-major. */
export function dequantizeInt8Data(state: QuantStateInt8, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(state.data.length);
  native.dequantizeInt8Rows(state, result);
  return result;
}
