// A Parameter is a Tensor that a Module owns and trains: it requires grad by default and lives
// outside every tidy() scope (it is kept until disposed).
import { Tensor, keep } from '../tensor/index.js';

export class Parameter extends Tensor {
  /** Wraps `data` (sharing its storage, not copying). */
  constructor(data: Tensor, requiresGrad = true) {
    const storage = data.storage;
    storage.retain();
    super(storage, data.shape, data.strides, data.offset);
    keep(this);
    if (requiresGrad) this.requiresGrad = true;
  }
}

export function isParameter(v: unknown): v is Parameter {
  return v instanceof Parameter;
}
