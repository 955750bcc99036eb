// Products that build larger tensors from views and one broadcast multiply: outer and kron.
import { ShapeError, formatShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { mul } from './arith.js';
import { reshape } from './views.js';
import { method } from './method.js';

/** a ⊗ b for 1-D a [n] and b [m]: out[i, j] = a[i] * b[j], shape [n, m]. */
export function outer(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new ShapeError(`outer: needs two 1-D tensors, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  return mul(reshape(a, [a.size, 1]), reshape(b, [1, b.size]));
}

/**
 * Kronecker product (torch.kron): the shapes are padded with leading 1s to the same rank, and
 * out[i * b.shape + j] = a[i] * b[j] per dim, so out.shape = a.shape * b.shape.
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  const ndim = Math.max(a.ndim, b.ndim);
  const aShape = [...new Array<number>(ndim - a.ndim).fill(1), ...a.shape];
  const bShape = [...new Array<number>(ndim - b.ndim).fill(1), ...b.shape];
  // [a0, 1, a1, 1, ...] * [1, b0, 1, b1, ...] = [a0, b0, a1, b1, ...], then merge each pair.
  const product = mul(reshape(a, aShape.flatMap((s) => [s, 1])), reshape(b, bShape.flatMap((s) => [1, s])));
  return reshape(product, aShape.map((s, i) => s * bShape[i]!));
}

declare module '../tensor.js' {
  interface Tensor {
    outer(other: Tensor): Tensor;
    kron(other: Tensor): Tensor;
  }
}

Object.assign(Tensor.prototype, { outer: method(outer), kron: method(kron) });
