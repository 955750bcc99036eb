// Shape arithmetic: sizes, strides, broadcasting and axis normalisation.
import { IndexError, ShapeError, ValueError, formatShape } from './errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function checkShape(shape: Shape, what = 'shape'): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ValueError(`${what} ${formatShape(shape)} has a size that is not a non-negative integer (${d})`);
    }
  }
  return [...shape];
}

/** Turns a possibly negative axis into 0..ndim-1. */
export function normalizeDim(dim: number, ndim: number, what = 'dim'): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= ndim) {
    throw new IndexError(`${what} ${dim} is out of range for a tensor with ${ndim} dimension(s) (use ${-ndim}..${ndim - 1})`);
  }
  return d;
}

/** The shape two shapes broadcast to (NumPy rules), or a ShapeError naming both. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new ShapeError(`shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (dim ${i}: ${x} vs ${y})`);
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Strides that read a tensor of `shape`/`strides` as if it had the larger `target` shape. */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  if (lead < 0) throw new ShapeError(`cannot broadcast ${formatShape(shape)} to ${formatShape(target)}`);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === target[lead + i]) out[lead + i] = d === 1 ? 0 : strides[i]!;
    else if (d === 1) out[lead + i] = 0;
    else throw new ShapeError(`cannot broadcast ${formatShape(shape)} to ${formatShape(target)}`);
  }
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
