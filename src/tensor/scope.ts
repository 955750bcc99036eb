// Scopes release every tensor created inside them when they end, except what they return (and
// the autograd graph behind it) or what was kept. This is how intermediates are freed at once,
// without waiting for the garbage collector: `tidy(() => { ...one training step... })`.
import type { Tensor } from './tensor.js';

class Scope {
  readonly tensors = new Set<Tensor>();
}

const stack: Scope[] = [];

/** Called by every new Tensor. */
export function trackTensor(t: Tensor): void {
  stack[stack.length - 1]?.tensors.add(t);
}

/** Removes `t` from all scopes: it lives until disposed by hand (or collected). */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of stack) scope.tensors.delete(t);
  return t;
}

/** Runs `fn`; disposes the tensors it created that are not part of its result. */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    stack.pop();
    for (const t of scope.tensors) t.dispose();
    throw error;
  }
  stack.pop();
  if (result instanceof Promise) {
    throw new TypeError('tidy(fn): fn must be synchronous; tensors cannot be tracked across await');
  }
  const survivors = reachableTensors(result);
  const parent = stack[stack.length - 1];
  for (const t of scope.tensors) {
    if (survivors.has(t)) {
      parent?.tensors.add(t);
    } else {
      if (t.grad !== null && !survivors.has(t.grad)) t.grad.dispose();
      t.dispose();
    }
  }
  return result;
}

/** Tensors in `value` (arrays, plain objects, Maps) plus everything their graphs still need. */
function reachableTensors(value: unknown): Set<Tensor> {
  const found = new Set<Tensor>();
  const seen = new Set<unknown>();
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTensor(v)) {
      found.add(v);
      if (v.grad !== null) pending.push(v.grad);
      const node = v.gradFn;
      if (node !== null) pending.push(...node.inputs, ...node.saved);
    } else if (Array.isArray(v)) {
      pending.push(...v);
    } else if (v instanceof Map) {
      pending.push(...v.values());
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      pending.push(...Object.values(v));
    }
  }
  return found;
}

function isTensor(v: object): v is Tensor {
  return (v as { __isTensor?: boolean }).__isTensor === true;
}
