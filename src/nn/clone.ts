// Deep copies of modules: new parameters and buffers with the same values, the same classes and
// options. A parameter shared inside the module (tied weights) stays shared in the copy.
// `shareTensors` copies only the module tree and keeps the same parameters and buffers: a second
// tree over one set of weights (the server wraps one per adapter method around a single base).
import { Tensor, keep, noGrad } from '../tensor/index.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export function cloneModule<M extends Module>(module: M, { shareTensors = false }: { shareTensors?: boolean } = {}): M {
  return noGrad(() => copyValue(module, new Map(), shareTensors) as M);
}

function copyValue(value: unknown, copies: Map<unknown, unknown>, shareTensors: boolean): unknown {
  if (copies.has(value)) return copies.get(value);
  let copy: unknown;
  if (shareTensors && value instanceof Tensor) {
    return value;
  } else if (value instanceof Parameter) {
    copy = new Parameter(value.clone(), value.requiresGrad);
  } else if (value instanceof Tensor) {
    copy = keep(value.clone());
  } else if (value instanceof Module) {
    const m = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
    copies.set(value, m);
    for (const [key, field] of Object.entries(value)) m[key] = copyValue(field, copies, shareTensors);
    return m;
  } else if (value instanceof Map) {
    copy = new Map([...value].map(([k, v]) => [k, copyValue(v, copies, shareTensors)]));
  } else if (Array.isArray(value)) {
    copy = value.map((v) => copyValue(v, copies, shareTensors));
  } else {
    // Numbers, strings, configs and functions are shared: modules do not mutate them.
    return value;
  }
  copies.set(value, copy);
  return copy;
}
