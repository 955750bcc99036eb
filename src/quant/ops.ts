// The linear layer over a frozen quantised weight: y = x·Wᵀ + b computed from the 4-bit / int8 data by
// the native kernels (native/src/quant/linear.cc), with autograd to x and the bias (the base weight is
// frozen: it has no gradient). No float copy of W is kept between calls.
import { record } from '../tensor/autograd.js';
import type { DType } from '../tensor/dtype.js';
import { DTypeError, ShapeError, formatShape } from '../tensor/errors.js';
import { native } from '../tensor/native/index.js';
import { cloneTensor } from '../tensor/ops/create-ops.js';
import { Tensor } from '../tensor/tensor.js';
import type { QuantState4, QuantStateInt8 } from './state.js';

/** The dtypes a quantised product may compute in (bitsandbytes' compute_dtype). */
export type ComputeDType = 'float32' | 'bfloat16' | 'float16';

/** A contiguous float32 copy of t unless it already is one. */
function contiguousF32(t: Tensor): Tensor {
  return t.dtype === 'float32' && t.isContiguous() ? t : cloneTensor(t, 'float32');
}

function f32View(t: Tensor): Float32Array {
  return (t.buffer as Float32Array).subarray(t.offset, t.offset + t.size);
}

/** A float32 copy of t rounded to `dtype` (a lower-precision compute's input/output rounding), or t itself for float32. */
function roundTo(t: Tensor, dtype: ComputeDType): Tensor {
  if (dtype === 'float32') return t;
  const low = cloneTensor(t, dtype);
  const back = cloneTensor(low, 'float32');
  low.dispose();
  return back;
}

/** Disposes `made` unless it is `original` (a conversion that turned out to be the tensor itself). */
function release(made: Tensor, original: Tensor): void {
  if (made !== original) made.dispose();
}

/** A quantised weight format's forward and input-gradient kernels (float32 buffers, M rows). */
export interface QuantLinear<W> {
  name: string;
  /** computeDtype: x is already rounded to it. */
  forward: (
    x: Float32Array,
    M: number,
    w: W,
    bias: Float32Array | null,
    y: Float32Array,
    computeDtype: ComputeDType,
  ) => void;
  backward: (gy: Float32Array, M: number, w: W, gx: Float32Array) => void;
}

const FOUR_BIT: QuantLinear<QuantState4> = {
  name: 'linear4bit',
  forward: (x, M, w, bias, y, computeDtype) => native.linear4bit(x, M, w, bias, y, computeDtype === 'bfloat16'),
  backward: (gy, M, w, gx) => native.linear4bitBackward(gy, M, w, gx),
};

const INT8: QuantLinear<QuantStateInt8> = {
  name: 'linearInt8',
  forward: (x, M, w, bias, y) => native.linearInt8(x, M, w, bias, y),
  backward: (gy, M, w, gx) => native.linearInt8Backward(gy, M, w, gx),
};

/** y = x·Wᵀ + bias through `op`'s kernels, with autograd to x and the bias (shared by every quantised format). */
export function quantLinear<W extends { shape: readonly number[] }>(
  op: QuantLinear<W>,
  x: Tensor,
  w: W,
  bias: Tensor | null,
  computeDtype: ComputeDType,
): Tensor {
  if (w.shape.length !== 2)
    throw new ShapeError(`${op.name}: the weight must be 2-D [out, in], got ${formatShape(w.shape)}`);
  const [outFeatures, inFeatures] = w.shape as [number, number];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inFeatures) {
    throw new ShapeError(
      `${op.name}: input ${formatShape(x.shape)} does not fit weight ${formatShape(w.shape)} (expected [..., ${inFeatures}])`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outFeatures)) {
    throw new ShapeError(
      `${op.name}: bias ${formatShape(bias.shape)} does not fit weight ${formatShape(w.shape)} (expected [${outFeatures}])`,
    );
  }
  if (!['float32', 'bfloat16', 'float16'].includes(x.dtype)) {
    throw new DTypeError(
      `${op.name}: input must be float32, bfloat16 or float16, got ${x.dtype} (convert with .to('float32'))`,
    );
  }
  const outDtype: DType = x.dtype;
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const x2 = x.reshape([rows, inFeatures]);
  const xf = contiguousF32(x2);
  // An input already in the compute dtype is exact in float32: rounding it again would change nothing.
  const xc = x.dtype === computeDtype ? xf : roundTo(xf, computeDtype);
  const bc = bias ? contiguousF32(bias) : null;
  const raw = Tensor.empty([rows, outFeatures], 'float32');
  op.forward(f32View(xc), rows, w, bc ? f32View(bc) : null, f32View(raw), computeDtype);
  release(xc, xf);
  release(xf, x2);
  if (bc && bias) release(bc, bias);
  // Rounded to the compute dtype, then cast to the input's: one cast where they are the same dtype
  // (the second rounding of a value already in that dtype is exact).
  const rounded = outDtype === computeDtype ? raw : roundTo(raw, computeDtype);
  release(raw, rounded);
  const out = outDtype === 'float32' ? rounded : cloneTensor(rounded, outDtype);
  release(rounded, out);
  const inputs = bias ? [x2, bias] : [x2];
  const y = record(out, op.name, inputs, (g) => {
    let gx: Tensor | null = null;
    if (x2.requiresGrad) {
      const gc = contiguousF32(g);
      const gf = Tensor.empty([rows, inFeatures], 'float32');
      op.backward(f32View(gc), rows, w, f32View(gf));
      release(gc, g);
      gx = x2.dtype === 'float32' ? gf : cloneTensor(gf, x2.dtype);
      release(gf, gx);
    }
    let gb: Tensor | null = null;
    if (bias?.requiresGrad) {
      const sum = g.sum(0);
      gb = sum.dtype === bias.dtype ? sum : cloneTensor(sum, bias.dtype);
      release(sum, gb);
    }
    return bias ? [gx, gb] : [gx];
  });
  return y.reshape([...x.shape.slice(0, -1), outFeatures]);
}

/**
 * y = x·Wᵀ + bias over a 4-bit weight W [out, in] (bitsandbytes' matmul_4bit). x is [..., in] in
 * float32 / bf16 / f16 and y has x's dtype; with computeDtype bf16 or f16, x and y are rounded to it as
 * bitsandbytes' compute_dtype does (products accumulate in float32 either way). Gradients reach x and
 * the bias; the weight is frozen. Batch 1-8 rows read the 4-bit data directly; more rows go through
 * the float32 GEMM a dequantised slab at a time.
 */
export function linear4bit(
  x: Tensor,
  w: QuantState4,
  bias: Tensor | null = null,
  computeDtype: ComputeDType = 'float32',
): Tensor {
  return quantLinear(FOUR_BIT, x, w, bias, computeDtype);
}

/**
 * y = x·Wᵀ + bias over a row-wise int8 weight (W = data · rowAbsmax / 127), as bitsandbytes'
 * Linear8bitLt with threshold 0: x rounded to float16 and quantised to int8 per row, the int8 × int8
 * product summed exactly in int32 (VNNI where the CPU has it), dequantised with both row scales
 * (src/quant/reference.ts referenceLinearInt8 is the same arithmetic in TypeScript). The input gradient
 * is gy·W with the dequantised W in float32, as MatMul8bitLt's backward.
 */
export function linearInt8(x: Tensor, w: QuantStateInt8, bias: Tensor | null = null): Tensor {
  return quantLinear(INT8, x, w, bias, 'float32');
}
