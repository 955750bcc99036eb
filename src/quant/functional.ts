// bitsandbytes' functional API (bitsandbytes/functional.py: quantize_4bit, dequantize_4bit,
// int8_vectorwise_quant, int8_vectorwise_dequant) over peftjs tensors, and the QuantState
// objects the quantised layers hold. The work is done by the native kernels (./kernels.ts),
// which compute the same bytes as the TypeScript reference in ./blockwise.ts (the oracle of
// test/quant/kernels.test.ts).
import { Tensor, ValueError, noGrad, type DType } from '../tensor/index.js';
import { code4, DYNAMIC_CODE } from './codes.js';
import { dequantize8bitArray } from './blockwise.js';
import { dequantize4bitNative, dequantizeInt8Native, quantize4bitNative, quantize8bitNative, quantizeInt8Native } from './kernels.js';
import type { QuantState4, QuantStateInt8, QuantType4 } from './state.js';

const f32 = Math.fround;

/** Block sizes bitsandbytes accepts for 4-bit quantisation. */
export const BLOCK_SIZES_4BIT = [32, 64, 128, 256, 512, 1024, 2048, 4096] as const;
/** bitsandbytes quantises the block absmax values in blocks of 256 (quantize_4bit, compress_statistics). */
export const NESTED_BLOCK_SIZE = 256;

export interface Quantize4bitOptions {
  /** 'fp4' by default, as bitsandbytes' quantize_4bit. */
  quantType?: QuantType4;
  /** Elements per block: 64 by default; 32 to 4096, a power of two. */
  blockSize?: number;
  /** Quantise the block absmax values too (bitsandbytes' compress_statistics): ~0.5 bits less per weight. */
  doubleQuant?: boolean;
}

export interface Quantized4bit {
  /** The packed codes, [ceil(numel / 2), 1] uint8 (the shape bitsandbytes stores). */
  weight: Tensor;
  /** float32 per block, or uint8 codes per block with double quantisation. */
  absmax: Tensor;
  /** float32 scales of the absmax codes (double quantisation), else null. */
  nestedAbsmax: Tensor | null;
  /** The mean subtracted from the absmax values before quantising them (double quantisation), else null. */
  offset: number | null;
  state: QuantState4;
}

export function checkQuantType(quantType: string): QuantType4 {
  if (quantType !== 'nf4' && quantType !== 'fp4') {
    throw new ValueError(`4-bit quant type must be 'nf4' or 'fp4', not ${JSON.stringify(quantType)}`);
  }
  return quantType;
}

export function checkBlockSize(blockSize: number): number {
  if (!(BLOCK_SIZES_4BIT as readonly number[]).includes(blockSize)) {
    throw new ValueError(`4-bit block size must be one of ${BLOCK_SIZES_4BIT.join(', ')}, not ${blockSize}`);
  }
  return blockSize;
}

/** The float32 values of `x` in row-major order. */
function float32Values(x: Tensor): Float32Array {
  if (x.dtype === 'float32') return x.data<'float32'>();
  if (x.dtype !== 'bfloat16' && x.dtype !== 'float16' && x.dtype !== 'float64') {
    throw new ValueError(`quantisation takes a floating-point tensor (float32, bfloat16, float16), not ${x.dtype}`);
  }
  return noGrad(() => {
    const wide = x.to('float32');
    const values = wide.data<'float32'>();
    wide.dispose();
    return values;
  });
}

/** The blockwise quantisers a QuantState is built with: the native kernels, or the reference (./reference.ts). */
export interface BlockQuantizers {
  quantize4(values: Float32Array, blockSize: number, code: Float32Array): { packed: Uint8Array; absmax: Float32Array };
  quantize8(values: Float32Array, blockSize: number, code: Float32Array): { codes: Uint8Array; absmax: Float32Array };
}

const NATIVE_QUANTIZERS: BlockQuantizers = { quantize4: quantize4bitNative, quantize8: quantize8bitNative };

/**
 * The QuantState of `values` (a flat row-major weight of `shape`), quantised as bitsandbytes'
 * quantize_4bit does; with doubleQuant the absmax values are double-quantised.
 */
export function quantizeState4(
  values: Float32Array,
  shape: readonly number[],
  { quantType = 'fp4', blockSize = 64, doubleQuant = false }: Quantize4bitOptions = {},
  quantizers: BlockQuantizers = NATIVE_QUANTIZERS,
): QuantState4 {
  const code = code4(checkQuantType(quantType));
  const { packed, absmax } = quantizers.quantize4(values, checkBlockSize(blockSize), code);
  const state: QuantState4 = { quantType, shape: [...shape], blockSize, packed, code: Float32Array.from(code), absmax, nested: null };
  if (!doubleQuant) return state;
  // offset = absmax.mean(): the float32 mean; accumulated in float64 here (torch's cascade
  // sum in float32 may differ by an ulp on very large weights).
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = f32(sum / absmax.length);
  const centred = absmax.map((a) => f32(a - offset));
  const nested = quantizers.quantize8(centred, NESTED_BLOCK_SIZE, DYNAMIC_CODE);
  return {
    ...state,
    absmax: null,
    nested: { codes: nested.codes, code: Float32Array.from(DYNAMIC_CODE), absmax: nested.absmax, blockSize: NESTED_BLOCK_SIZE, offset },
  };
}

/** The float32 absmax of each 4-bit block, undoing double quantisation if there is one. */
export function blockAbsmax(state: QuantState4): Float32Array {
  if (state.nested === null) return state.absmax!;
  const { codes, code, absmax, blockSize, offset } = state.nested;
  return dequantize8bitArray(codes, absmax, blockSize, code).map((a) => f32(a + offset));
}

/** The dequantised weight as flat float32 values. */
export function dequantizeState4(state: QuantState4): Float32Array {
  return dequantize4bitNative(state);
}

/** quantize_4bit: `x` (any shape, floating point) in 4 bits, blockwise, as bitsandbytes lays it out. */
export function quantize4bit(x: Tensor, options: Quantize4bitOptions = {}): Quantized4bit {
  return quantizedTensors(quantizeState4(float32Values(x), x.shape, options));
}

/** The tensors of a QuantState, as quantize_4bit returns them (sharing its arrays). */
export function quantizedTensors(state: QuantState4): Quantized4bit {
  const nested = state.nested;
  return {
    weight: Tensor.fromArray(state.packed, [state.packed.length, 1], 'uint8'),
    absmax: nested ? Tensor.fromArray(nested.codes, [nested.codes.length], 'uint8') : Tensor.fromArray(state.absmax!, [state.absmax!.length], 'float32'),
    nestedAbsmax: nested ? Tensor.fromArray(nested.absmax, [nested.absmax.length], 'float32') : null,
    offset: nested ? nested.offset : null,
    state,
  };
}

/** dequantize_4bit: the weight a QuantState stands for, in `dtype` (float32 by default). */
export function dequantize4bit(quantized: QuantState4 | Quantized4bit, dtype: DType = 'float32'): Tensor {
  const state = 'state' in quantized ? quantized.state : quantized;
  const out = Tensor.fromArray(dequantizeState4(state), state.shape, 'float32');
  if (dtype === 'float32') return out;
  const cast = noGrad(() => out.to(dtype));
  out.dispose();
  return cast;
}

/** int8_vectorwise_quant without outliers of the weight in float16 (as Int8Params): each row scaled by 127 / its absmax, rounded half to even. */
export function quantizeInt8(x: Tensor): QuantStateInt8 {
  if (x.ndim !== 2) throw new ValueError(`int8 quantisation takes a 2-d weight [out, in]; this one is [${x.shape.join(', ')}]`);
  const [rows, cols] = x.shape as [number, number];
  return quantizeInt8Native(float32Values(x), rows, cols);
}

/** int8_vectorwise_dequant: q * rowAbsmax / 127 as float32 ((q * s) * (1 / 127), as bitsandbytes). */
export function dequantizeInt8(state: QuantStateInt8, dtype: DType = 'float32'): Tensor {
  const t = Tensor.fromArray(dequantizeInt8Native(state), state.shape, 'float32');
  if (dtype === 'float32') return t;
  const cast = noGrad(() => t.to(dtype));
  t.dispose();
  return cast;
}

/** Bytes a QuantState holds: packed codes, absmax (codes and nested scales), code books. */
export function quantStateBytes(state: QuantState4): number {
  const nested = state.nested;
  const stats = nested ? nested.codes.byteLength + nested.absmax.byteLength + nested.code.byteLength + 4 : state.absmax!.byteLength;
  return state.packed.byteLength + stats + state.code.byteLength;
}
