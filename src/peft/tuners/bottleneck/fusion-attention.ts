// AdapterFusion's attention (Pfeiffer et al. 2021): at each position the sublayer output h
// queries the adapters' outputs z_i, and the fusion returns Σ_i softmax_i(Q(h)·K(z_i)) V(z_i).
import { concat, softmax, type Tensor } from '../../../tensor/index.js';
import type { Linear } from '../../../nn/index.js';

export function fusedOutput(h: Tensor, outputs: readonly Tensor[], query: Linear, key: Linear, value: Linear): Tensor {
  const q = query.forward(h);
  const scores = concat(outputs.map((z) => q.mul(key.forward(z)).sum(-1, true)), -1);
  const weights = softmax(scores, -1);
  const mixed = outputs.map((z, i) => weights.narrow(-1, i, 1).mul(z)).reduce((a, b) => a.add(b));
  // V is affine and the weights sum to one, so Σ w_i·V(z_i) = V(Σ w_i·z_i): one projection.
  return value.forward(mixed);
}
