// The layers whose adapter is an additive weight update ΔW (LoRA without DoRA, AdaLoRA, LoHa,
// LoKr, VeRA): merging adds ΔW to the base weight in its own layout, unmerging subtracts it.
import type { Tensor } from '../../tensor/index.js';
import { TunerLayer } from './tuner-layer.js';

export abstract class AdditiveTunerLayer extends TunerLayer {
  /** The adapter's update as [out, in], scaling included. */
  abstract deltaOutIn(name: string): Tensor;

  /** The update in base_layer.weight's layout (transposed for GPT-2's Conv1D): HF's get_delta_weight. */
  deltaWeight(name: string): Tensor {
    const delta = this.deltaOutIn(name);
    return this.weightIsTransposed ? delta.T.contiguous() : delta;
  }

  protected mergedWeight(weight: Tensor, name: string): Tensor {
    return weight.add(this.deltaWeight(name));
  }

  protected unmergedWeight(weight: Tensor, name: string): Tensor {
    return weight.sub(this.deltaWeight(name));
  }
}
