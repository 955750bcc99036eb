// The base of adapter layers whose adapters cannot be folded into a weight: non-linear adapters,
// and wrappers of whole modules (a feed-forward block, which has no single weight). They keep
// TunerLayer's adapter management (several adapters, active ones, disabling, mixed batches, delete)
// and refuse to merge.
import type { Tensor } from '../../../tensor/index.js';
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { TunerLayer, type BaseLayer } from '../tuner-layer.js';

/** A module computing y = f(x): a linear layer, or a whole block. */
export type WrappedModule = Module & { forward(x: Tensor): Tensor };

/**
 * A post-norm sublayer output that also adds the residual: y = LN(dense(h) + residual) (BERT's
 * BertOutput). Its forward takes the sublayer's inner activation and the block's input.
 */
export type ResidualOutputModule = Module & { readonly addsResidual: true; forward(h: Tensor, residual: Tensor): Tensor };

export function isResidualOutput(m: Module): m is ResidualOutputModule {
  return (m as { addsResidual?: unknown }).addsResidual === true;
}

/**
 * The hidden width a parallel adapter beside `block` reads and writes: the width of the block's
 * input and output (its first projection's input, its last one's output: down_proj, c_proj, wo,
 * fc2); for a residual-adding output (BertOutput), its output width, which the residual has.
 * Null when the block has no projections or changes the width (then it is not a feed-forward block).
 */
export function feedForwardWidth(block: Module): number | null {
  const projections: (Linear | Conv1D)[] = [];
  block.apply((m) => {
    if (m instanceof Linear || m instanceof Conv1D) projections.push(m);
  });
  if (projections.length === 0) return null;
  const width = projections[projections.length - 1]!.outFeatures;
  return isResidualOutput(block) || projections[0]!.inFeatures === width ? width : null;
}

export abstract class ModuleTunerLayer extends TunerLayer {
  constructor(base: WrappedModule | ResidualOutputModule) {
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
