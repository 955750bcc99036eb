// Finite-difference gradient checks in float64: the reference every op's backward is held to.
import assert from 'node:assert/strict';
import { Tensor, noGrad, tensor, randn } from '../../src/index.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

/**
 * Checks d(sum(f(inputs) * w))/d(input) from autograd against central differences, for a fixed
 * random weighting w (so every output element matters). Inputs must be float64 and require grad.
 */
export function gradcheck(f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): void {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  for (const x of inputs) assert.equal(x.dtype, 'float64', 'gradcheck inputs must be float64');
  const out = f(...inputs);
  const weights = randn(out.shape, { dtype: 'float64' });
  const objective = (o: Tensor) => o.mul(weights).sum();
  for (const x of inputs) x.grad = null;
  objective(out).backward();
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad ? x.grad.toFlatArray() : new Array<number>(x.size).fill(0);
    const base = x.data() as Float64Array;
    const numeric = new Array<number>(x.size);
    for (let i = 0; i < x.size; i++) {
      const at = (delta: number) => {
        const values = base.slice();
        values[i] = values[i]! + delta;
        const probe = tensor(values, x.shape, 'float64');
        return noGrad(() => objective(f(...inputs.map((t, j) => (j === k ? probe : t)))).item());
      };
      numeric[i] = (at(eps) - at(-eps)) / (2 * eps);
    }
    for (let i = 0; i < x.size; i++) {
      const a = analytic[i]!;
      const n = numeric[i]!;
      assert.ok(
        Math.abs(a - n) <= atol + rtol * Math.abs(n),
        `input ${k}, element ${i}: autograd ${a} vs finite differences ${n}`,
      );
    }
  });
}

/** A float64 tensor of random values that requires grad. */
export function param(shape: number[], scale = 1): Tensor {
  return randn(shape, { dtype: 'float64', std: scale }).requiresGrad_();
}

/** Asserts two arrays are elementwise close. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6, rtol = 1e-6, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: ${a} vs expected ${e}`);
  }
}
