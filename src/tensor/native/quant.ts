import type { QuantState4, QuantStateInt8 } from '../../quant/state.js';

/** Source element type of a quantiser's input: float32 (Float32Array) or bf16 / f16 bits (Uint16Array). */
export type QuantSrcType = 0 | 1 | 2;

/**
 * The quantised-weight kernels (native/src/quant/, bound in native/src/bind_quant.cc). Buffers are
 * contiguous and must hold exactly the elements the sizes say (else RangeError); weights are the
 * objects of src/quant/state.ts. A 2-D weight is [out, in]; any other shape is read as [numel, 1].
 */
export interface QuantKernels {
  /** bitsandbytes' 4-bit blockwise quantiser over a 16-value code: packed = ceil(n / 2) bytes, absmax = ceil(n / blockSize) floats. */
  quantize4bit(
    src: Float32Array | Uint16Array,
    srcType: QuantSrcType,
    blockSize: number,
    code: Float32Array,
    packed: Uint8Array,
    absmax: Float32Array,
  ): void;
  /** bitsandbytes' 8-bit blockwise quantiser over a sorted 256-value code (double quantisation's nested step). */
  quantizeBlockwise8bit(
    src: Float32Array,
    blockSize: number,
    code: Float32Array,
    out: Uint8Array,
    absmax: Float32Array,
  ): void;
  /** Row-wise absmax int8 of a rows x cols matrix. */
  quantizeInt8Rows(
    src: Float32Array | Uint16Array,
    srcType: QuantSrcType,
    rows: number,
    cols: number,
    out: Int8Array,
    rowAbsmax: Float32Array,
  ): void;
  dequantize4bit(weight: QuantState4, out: Float32Array): void;
  dequantizeInt8Rows(weight: QuantStateInt8, out: Float32Array): void;
  /** y [M, out] = x [M, in]·Wᵀ + bias. bf16X: x is in bf16 (a bf16 compute dtype), so the kernel may round the 4-bit code values to bf16 too. */
  linear4bit(
    x: Float32Array,
    M: number,
    weight: QuantState4,
    bias: Float32Array | null,
    y: Float32Array,
    bf16X?: boolean,
  ): void;
  linearInt8(x: Float32Array, M: number, weight: QuantStateInt8, bias: Float32Array | null, y: Float32Array): void;
  /** gx [M, in] = gy [M, out]·W. */
  linear4bitBackward(gy: Float32Array, M: number, weight: QuantState4, gx: Float32Array): void;
  linearInt8Backward(gy: Float32Array, M: number, weight: QuantStateInt8, gx: Float32Array): void;
  /** The sum of x, read once across the threads: its speed is the memory read bandwidth (bench/quant.ts). */
  streamRead(x: Float32Array): number;
}
