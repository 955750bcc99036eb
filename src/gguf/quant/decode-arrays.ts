// What the GGUF decode paths (decode-mlp.ts, decode-attention.ts) share: when they may run, float32
// views of tensors, and scratch arrays for intermediates that never leave a call.
import { Tensor, isGradEnabled } from '../../tensor/index.js';
import { native } from '../../tensor/native/index.js';
import { RMSNorm, type Module } from '../../nn/index.js';
import { GgmlLinear, hasIntegerPath } from './linear.js';

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

/** The layers as plain GgmlLinears on the integer path, with float32 biases or none; else null. */
export function plainGgmlLinears(layers: readonly Module[]): GgmlLinear[] | null {
  if (!hasIntegerPath() || !layers.every((l) => l.constructor === GgmlLinear)) return null;
  const linears = layers.map((l) => l as GgmlLinear);
  return linears.every((l) => l.bias === null || floatsOf(l.bias) !== null) ? linears : null;
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
