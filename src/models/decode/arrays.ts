// What the decode paths (mlp.ts, attention.ts) share: when they may run, float32
// views of tensors, the projections they compute on plain arrays (GGUF block weights, or plain
// float32 / bf16 / f16 Linears), and scratch arrays for intermediates that never leave a call.
import { Tensor, isGradEnabled } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import type { GemmNkProduct } from '../../tensor/native/gemm.js';
import { GEMM_B_TYPES } from '../../tensor/ops/matmul.js';
import { Linear, RMSNorm, type Module } from '../../nn/index.js';
import { GgmlLinear, hasIntegerPath } from '../../gguf/quant/linear.js';

export const FLOAT32 = 0; // DTYPES.float32.code, the elementwise kernels' dtype argument

/**
 * At most this many rows (tokens) take the decode paths: the Tensor overhead they save matters only
 * where each operation's own work is small, and the scratch below never outgrows a few rows (a
 * prompt's rows would keep their size for the life of the process).
 */
export const DECODE_ROWS = 8;

/** Grow-only scratch: intermediates of one call, never handed out (every call is synchronous). */
const scratch: Float32Array[] = [];
export function scratchOf(slot: number, n: number): Float32Array {
  if ((scratch[slot]?.length ?? -1) < n) scratch[slot] = new Float32Array(n);
  return scratch[slot]!.subarray(0, n);
}

/** The elements of a contiguous float32 tensor; null for any other. */
export function floatsOf(t: Tensor | null): Float32Array | null {
  if (!t || t.dtype !== 'float32' || !t.isContiguous()) return null;
  return (t.buffer as Float32Array).subarray(t.offset, t.offset + t.size);
}

/**
 * Layers that read the same input, computed on plain arrays exactly as their forwards compute them:
 * outs[l] [rows, outFeatures[l]] = x [rows, inFeatures]·Wₗᵀ + bₗ.
 */
export interface Projections {
  readonly inFeatures: number;
  readonly outFeatures: readonly number[];
  /** The weights and biases, whose gradients a forward would record. */
  readonly parameters: readonly (Tensor | null)[];
  project(x: Float32Array, rows: number, outs: readonly Float32Array[]): void;
}

/**
 * The layers as Projections when they are all plain GgmlLinears on the integer path, or all plain
 * Linears whose weight the GEMM reads as stored (float32, bf16 or f16, contiguous), over one input
 * width, with float32 biases or none; else null (an adapter, a quantised layer of another kind).
 */
export function plainProjections(layers: readonly Module[]): Projections | null {
  return ggmlProjections(layers) ?? denseProjections(layers);
}

function ggmlProjections(layers: readonly Module[]): Projections | null {
  if (!hasIntegerPath() || !layers.every((l) => l.constructor === GgmlLinear)) return null;
  const linears = layers.map((l) => l as GgmlLinear);
  const width = linears[0]!.ggml.shape[1];
  if (!linears.every((l) => l.ggml.shape[1] === width && (l.bias === null || floatsOf(l.bias) !== null))) return null;
  const weights = linears.map((l) => l.ggml);
  const biases = linears.map((l) => floatsOf(l.bias));
  return {
    inFeatures: width,
    outFeatures: weights.map((w) => w.shape[0]),
    parameters: linears.map((l) => l.bias),
    // Several weights: x quantised once and one job over all their rows (each output as alone).
    project: (x, rows, outs) =>
      weights.length === 1 ? native.ggmlLinear(x, rows, weights[0]!, biases[0]!, outs[0]!) : native.ggmlLinearMany(x, rows, weights, biases, [...outs]),
  };
}

function denseProjections(layers: readonly Module[]): Projections | null {
  if (!layers.every((l) => l.constructor === Linear)) return null;
  const linears = layers.map((l) => l as Linear);
  const width = linears[0]!.weight.shape[1]!;
  // One-column or one-deep weights take other GEMM operand layouts in linear(); never a model's.
  const fits = (l: Linear) =>
    l.weight.ndim === 2 && l.weight.shape[1] === width && width > 1 && l.weight.shape[0]! > 1 && l.weight.isContiguous() &&
    GEMM_B_TYPES[l.weight.dtype] !== undefined && (l.bias === null || floatsOf(l.bias) !== null);
  if (!linears.every(fits)) return null;
  return {
    inFeatures: width,
    outFeatures: linears.map((l) => l.weight.shape[0]!),
    parameters: linears.flatMap((l) => [l.weight, l.bias]),
    project: (x, rows, outs) => denseLinears(x, rows, linears, outs),
  };
}

/**
 * outs[l] = x·Wₗᵀ + bₗ with the GEMM linear() calls (bias copied into every row, then beta = 1): its
 * bits. Several layers go to the GEMM in one call where the backend has it (gemmNkMany).
 */
function denseLinears(x: Float32Array, rows: number, layers: readonly Linear[], outs: readonly Float32Array[]): void {
  const products = layers.map((layer, l): GemmNkProduct => {
    const { weight } = layer;
    const n = weight.shape[0]!;
    const bias = floatsOf(layer.bias);
    if (bias) for (let r = 0; r < rows; r++) outs[l]!.set(bias, r * n);
    const b = weight.buffer as Float32Array | Uint16Array;
    return { b, bOffset: weight.offset, bType: GEMM_B_TYPES[weight.dtype]!, n, beta: bias ? 1 : 0, c: outs[l]!.subarray(0, rows * n) };
  });
  const k = layers[0]!.weight.shape[1]!;
  if (products.length > 1 && native.gemmNkMany) return native.gemmNkMany(x.subarray(0, rows * k), rows, k, products);
  for (const p of products) native.gemm(false, true, rows, p.n, k, 1, x, 0, k, 0, p.b, p.bOffset, p.bType, k, 0, p.beta, p.c, 0, p.n, rows * p.n, 1);
}

/** A plain RMSNorm with a float32 weight; else null (LN tuning's wrappers, other norms). */
export function plainRmsNorm(norm: Module): RMSNorm | null {
  return norm.constructor === RMSNorm && floatsOf((norm as RMSNorm).weight) ? (norm as RMSNorm) : null;
}

/** Whether an operation over these tensors would be recorded for backward (the decode paths record nothing). */
export function recordsGradient(tensors: readonly (Tensor | null)[]): boolean {
  return isGradEnabled() && tensors.some((t) => t?.requiresGrad === true);
}

/** n = rmsNorm(x) over rows of norm's width, into scratch slot `slot`. */
export function rmsNormRows(x: Float32Array, norm: RMSNorm, slot: number): Float32Array {
  const weight = floatsOf(norm.weight)!;
  const rows = x.length / weight.length;
  const n = scratchOf(slot, x.length);
  native.rmsNormForward(x, weight, n, scratchOf(slot + 1, rows), rows, weight.length, norm.eps);
  return n;
}
