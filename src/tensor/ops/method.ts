// Turns `fn(tensor, ...args)` into a method body `this.fn(...args)` for Tensor.prototype.
import type { Tensor } from '../tensor.js';

export function method<A extends unknown[], R>(fn: (x: Tensor, ...args: A) => R): (this: Tensor, ...args: A) => R {
  return function (this: Tensor, ...args: A): R {
    return fn(this, ...args);
  };
}
