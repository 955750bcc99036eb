// Dropout: zeroes elements with probability p during training and rescales the rest by 1/(1-p).
import { Tensor, dropout, ValueError } from '../tensor/index.js';
import { Module } from './module.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new ValueError(`Dropout: p must be in [0, 1), not ${p}`);
  }

  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p) : x;
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
