// Linear layers over quantised weights, as bitsandbytes' Linear4bit and Linear8bitLt: they are
// Linear modules (so every tuner and target rule that takes a Linear takes them), whose
// `weight` is the quantised data, frozen (bitsandbytes' Params4bit: the packed codes,
// [ceil(numel / 2), 1] uint8), and whose forward computes y = x·Wᵀ + b from it.
import { Tensor, linear, noGrad, ValueError, type DType } from '../tensor/index.js';
import { Conv1D, Linear, Parameter } from '../nn/index.js';
import { dequantize4bit, dequantizeInt8, dequantizeState4, quantizeInt8, quantizeState4, quantStateBytes, type Quantize4bitOptions } from './functional.js';
import type { QuantState4, QuantStateInt8 } from './state.js';
import { linear4bit, linearInt8, type ComputeDType } from './ops.js';
import { GgmlLinear } from '../gguf/quant/linear.js';

/** The weight of a Linear, or of GPT-2's Conv1D transposed, as [out, in] float32 values. */
function linearWeightValues(layer: Linear | Conv1D): { values: Float32Array; shape: [number, number] } {
  const values = float32Of(layer instanceof Conv1D ? layer.weight.T : layer.weight);
  return { values, shape: [layer.outFeatures, layer.inFeatures] };
}

/** [out, in] of a linear layer's weight state. */
function weightShape(state: { shape: number[] }): [number, number] {
  if (state.shape.length !== 2) throw new ValueError(`a quantised linear layer takes a 2-d weight [out, in], not shape [${state.shape.join(', ')}]`);
  return state.shape as [number, number];
}

/** A frozen bias copied from `layer` (or null). */
function frozenBias(layer: Linear | Conv1D): Parameter | null {
  return layer.bias === null ? null : new Parameter(noGrad(() => layer.bias!.contiguous().clone()), false);
}

/**
 * y = x·Wᵀ + b with W held in 4 bits. The input is cast to `computeDtype` (bitsandbytes'
 * compute_dtype; float32 by default) and the output back to the input's dtype.
 */
export class Linear4bit extends Linear {
  declare weight: Parameter;
  quantState: QuantState4;
  computeDtype: DType;
  /** The dtype the weight was quantised from, as torch names it (the `dtype` its saved quant_state holds). */
  weightDtype = 'float32';

  constructor(state: QuantState4, bias: Parameter | null, computeDtype: DType = 'float32') {
    super(weightShape(state)[1], weightShape(state)[0], { bias: false, frozenWeight: Tensor.fromArray(state.packed, [state.packed.length, 1], 'uint8') });
    this.bias = bias;
    this.quantState = state;
    this.computeDtype = computeDtype;
  }

  /** Quantises a Linear (or a GPT-2 Conv1D, whose weight is transposed first, as transformers does). */
  static fromLinear(layer: Linear | Conv1D, options: Quantize4bitOptions & { computeDtype?: DType } = {}): Linear4bit {
    const { values, shape } = linearWeightValues(layer);
    return new Linear4bit(quantizeState4(values, shape, options), frozenBias(layer), options.computeDtype);
  }

  override forward(x: Tensor): Tensor {
    return linear4bitForward(x, this.quantState, this.bias, this.computeDtype);
  }

  /** The weight as a [out, in] tensor of `dtype` (a new tensor the caller owns). */
  dequantizedWeight(dtype: DType = 'float32'): Tensor {
    return dequantize4bit(this.quantState, dtype);
  }

  /** Bytes of the quantised weight and its statistics (the bias not included). */
  get weightBytes(): number {
    return quantStateBytes(this.quantState);
  }

  /** Quantises `weight` ([out, in]) in place of the current weight, with the same format. */
  requantize(weight: Tensor): RequantizationError {
    const s = this.quantState;
    const values = float32Of(weight);
    const state = quantizeState4(values, s.shape, { quantType: s.quantType, blockSize: s.blockSize, doubleQuant: s.nested !== null });
    this.quantState = state;
    this.weight.dispose();
    this.weight = new Parameter(Tensor.fromArray(state.packed, [state.packed.length, 1], 'uint8'), false);
    return quantizationError(values, dequantizeState4(state));
  }

  override extraRepr(): string {
    const s = this.quantState;
    return `${super.extraRepr()}, quant_type=${s.quantType}, block_size=${s.blockSize}, double_quant=${s.nested !== null}`;
  }
}

/** y = x·Wᵀ + b with W held as row-wise int8 (bitsandbytes' Linear8bitLt without outliers). */
export class Linear8bitLt extends Linear {
  declare weight: Parameter;
  quantState: QuantStateInt8;

  constructor(state: QuantStateInt8, bias: Parameter | null) {
    // int8 has no tensor dtype: the module's weight shows the same bytes as uint8.
    const bytes = new Uint8Array(state.data.buffer, state.data.byteOffset, state.data.byteLength);
    super(weightShape(state)[1], weightShape(state)[0], { bias: false, frozenWeight: Tensor.fromArray(bytes, state.shape, 'uint8') });
    this.bias = bias;
    this.quantState = state;
  }

  static fromLinear(layer: Linear | Conv1D): Linear8bitLt {
    const { values, shape } = linearWeightValues(layer);
    const full = Tensor.fromArray(values, shape, 'float32');
    const state = quantizeInt8(full);
    full.dispose();
    return new Linear8bitLt(state, frozenBias(layer));
  }

  override forward(x: Tensor): Tensor {
    return linearInt8Forward(x, this.quantState, this.bias);
  }

  dequantizedWeight(dtype: DType = 'float32'): Tensor {
    return dequantizeInt8(this.quantState, dtype);
  }

  get weightBytes(): number {
    return this.quantState.data.byteLength + this.quantState.rowAbsmax.byteLength;
  }

  requantize(weight: Tensor): RequantizationError {
    const values = float32Of(weight);
    const full = Tensor.fromArray(values, this.quantState.shape, 'float32');
    this.quantState = quantizeInt8(full);
    const back = dequantizeInt8(this.quantState);
    const error = quantizationError(values, back.data<'float32'>());
    back.dispose();
    this.weight.dispose();
    const q = this.quantState.data;
    this.weight = new Parameter(Tensor.fromArray(new Uint8Array(q.buffer, q.byteOffset, q.byteLength), this.quantState.shape, 'uint8'), false);
    return error;
  }
}

/** What quantising a weight again lost: the largest absolute error and ‖error‖ / ‖weight‖. */
export interface RequantizationError {
  maxAbs: number;
  relative: number;
}

export function quantizationError(exact: Float32Array, approx: Float32Array): RequantizationError {
  let maxAbs = 0;
  let errorSq = 0;
  let normSq = 0;
  for (let i = 0; i < exact.length; i++) {
    const e = exact[i]! - approx[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(e));
    errorSq += e * e;
    normSq += exact[i]! * exact[i]!;
  }
  return { maxAbs, relative: normSq === 0 ? 0 : Math.sqrt(errorSq / normSq) };
}

/** A weight's values as contiguous float32. */
function float32Of(weight: Tensor): Float32Array {
  return noGrad(() => {
    const wide = weight.to('float32').contiguous();
    const values = wide.data<'float32'>();
    if (wide !== weight) wide.dispose();
    return values;
  });
}

/** A quantised linear layer: bitsandbytes' two kinds, or a GGUF file's ggml blocks. */
export type QuantizedLinear = Linear4bit | Linear8bitLt | GgmlLinear;

export function isQuantizedLinear(m: unknown): m is QuantizedLinear {
  return m instanceof Linear4bit || m instanceof Linear8bitLt || m instanceof GgmlLinear;
}

// The forward of the quantised layers: the native kernels (./ops.ts) for float32 / bf16 / f16 inputs
// and compute dtypes; float64 (gradient checks) dequantises, then a float matmul.
const NATIVE_DTYPES: readonly DType[] = ['float32', 'bfloat16', 'float16'];

function linear4bitForward(x: Tensor, state: QuantState4, bias: Tensor | null, computeDtype: DType): Tensor {
  if (NATIVE_DTYPES.includes(x.dtype) && NATIVE_DTYPES.includes(computeDtype)) {
    return linear4bit(x, state, bias, computeDtype as ComputeDType);
  }
  return dequantizedLinear(x, dequantize4bit(state, computeDtype), bias, computeDtype);
}

function linearInt8Forward(x: Tensor, state: QuantStateInt8, bias: Tensor | null): Tensor {
  if (NATIVE_DTYPES.includes(x.dtype)) return linearInt8(x, state, bias);
  return dequantizedLinear(x, dequantizeInt8(state), bias, 'float32');
}

function dequantizedLinear(x: Tensor, weight: Tensor, bias: Tensor | null, computeDtype: DType): Tensor {
  const input = x.dtype === computeDtype ? x : x.to(computeDtype);
  const b = bias === null || bias.dtype === computeDtype ? bias : bias.to(computeDtype);
  const y = linear(input, weight, b);
  return y.dtype === x.dtype ? y : y.to(x.dtype);
}
