// The in-memory form of a quantised weight: what the quantised linear layers hold, what the
// native kernels read, and what the bitsandbytes-layout files are written from.
//
// 4-bit follows bitsandbytes' QuantState (bitsandbytes/functional.py, quantize_4bit): the weight
// is flattened row-major and cut into blocks of `blockSize` consecutive elements (a block may
// cross a row boundary when inFeatures is not a multiple of the block); each block is scaled by
// its absolute maximum and every element is replaced by the index of the nearest of the 16
// code values. Two indices share a byte: element 2i in the high nibble, 2i + 1 in the low one.
// With double quantisation the float32 block absmax values, less their mean (`offset`), are
// themselves quantised blockwise (256 per block) with the 8-bit dynamic code.

export type QuantType4 = 'nf4' | 'fp4';

/** The absmax of each 4-bit block, itself quantised (bitsandbytes' nested QuantState). */
export interface NestedAbsmax {
  /** One uint8 code per 4-bit block: an index into `code`. */
  codes: Uint8Array;
  /** The 256 values of the 8-bit dynamic code (bitsandbytes' create_dynamic_map, signed). */
  code: Float32Array;
  /** One float32 scale per `blockSize` absmax codes. */
  absmax: Float32Array;
  /** Always 256 in files bitsandbytes writes. */
  blockSize: number;
  /** The mean of the float32 absmax values, added back after dequantising them. */
  offset: number;
}

export interface QuantState4 {
  quantType: QuantType4;
  /** The original weight's shape: [outFeatures, inFeatures] for a linear layer. */
  shape: number[];
  /** Elements per block: 64 by default, a power of two from 32 to 4096. */
  blockSize: number;
  /** ceil(numel / 2) bytes of packed 4-bit indices, in bitsandbytes' nibble order. */
  packed: Uint8Array;
  /** The 16 code values (bitsandbytes' quant_map) for quantType. */
  code: Float32Array;
  /** float32 absmax per block without double quantisation; null when `nested` holds them. */
  absmax: Float32Array | null;
  nested: NestedAbsmax | null;
}

/** Row-wise absmax int8 (bitsandbytes' Int8 layout without the outlier split). */
export interface QuantStateInt8 {
  shape: number[];
  /** numel int8 values, row-major: round(w * 127 / rowAbsmax). */
  data: Int8Array;
  /** One float32 absmax per row (bitsandbytes' SCB). */
  rowAbsmax: Float32Array;
}
