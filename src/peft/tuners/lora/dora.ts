// DoRA (weight-decomposed LoRA): the adapted weight W + s·BA is split into a direction, whose
// norm per output is held fixed (detached, as the paper and HF PEFT do), and a trained magnitude m.
import { Tensor, noGrad } from '../../../tensor/index.js';
import { Module, Parameter } from '../../../nn/index.js';

/** HF's DoraLinearLayer: holds the magnitude vector as `weight` [out]. */
export class DoraMagnitude extends Module {
  weight: Parameter;
  /** ‖W + s·BA‖ per output at the time the adapter was merged (unmerging needs the same factor). */
  mergeNorm: Tensor | null = null;

  constructor(initial: Tensor) {
    super();
    this.weight = new Parameter(initial);
  }
}

/** ‖W + ΔW‖ over the input dimension, for W and ΔW as [out, in]: one norm per output. */
export function weightNorm(weight: Tensor, delta: Tensor): Tensor {
  return noGrad(() => weight.add(delta).norm(2, 1));
}

export interface DoraInputs {
  magnitude: Tensor;
  /** ‖W + s·BA‖ per output (weightNorm), detached. */
  norm: Tensor;
  /** W·x without the bias. */
  baseOut: Tensor;
  /** s·B(A(x)). */
  loraOut: Tensor;
}

/** What DoRA adds to the base output: (m/‖W+ΔW‖ − 1)·W·x + (m/‖W+ΔW‖)·s·B(A(x)). */
export function doraOutput({ magnitude, norm, baseOut, loraOut }: DoraInputs): Tensor {
  const scale = magnitude.div(norm);
  return scale.sub(1).mul(baseOut).add(scale.mul(loraOut));
}
