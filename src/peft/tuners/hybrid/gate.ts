// UniPELT's gates (Mao et al. 2022): g = σ(W·x + b) ∈ (0, 1), a linear map of the input of the
// part it gates, one output per position.
import type { DType, Tensor } from '../../../tensor/index.js';
import { Linear } from '../../../nn/index.js';

/** A gate reading `features`-wide inputs (torch's Linear init, so gates start near 0.5). */
export function gateLayer(features: number, dtype: DType = 'float32'): Linear {
  return new Linear(features, 1, { dtype });
}

/** The gate's values for `x` [.., features]: [.., 1], each in (0, 1). */
export function gateValue(gate: Linear, x: Tensor): Tensor {
  return gate.forward(x.to(gate.weight.dtype)).sigmoid();
}
