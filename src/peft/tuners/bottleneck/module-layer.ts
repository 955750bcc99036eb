// The base of adapter layers whose adapters cannot be folded into a weight: non-linear adapters,
// and wrappers of whole modules (a feed-forward block, which has no single weight). They keep
// TunerLayer's adapter management (several adapters, active ones, disabling, mixed batches, delete)
// and refuse to merge.
import type { Tensor } from '../../../tensor/index.js';
import type { Module } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { TunerLayer, type BaseLayer } from '../tuner-layer.js';

/** A module computing y = f(x): a linear layer, or a whole block. */
export type WrappedModule = Module & { forward(x: Tensor): Tensor };

export abstract class ModuleTunerLayer extends TunerLayer {
  constructor(base: WrappedModule) {
    // TunerLayer reads base_layer.weight only to merge, which this class refuses.
    super(base as unknown as BaseLayer);
  }

  protected mergedWeight(_weight: Tensor, name: string): Tensor {
    throw new PeftConfigError(
      `adapter '${name}' is a non-linear ${this.constructor.name} adapter and cannot be merged into the base weights; keep it as a layer (or unload() without merging)`,
    );
  }

  protected unmergedWeight(weight: Tensor, name: string): Tensor {
    return this.mergedWeight(weight, name);
  }
}
