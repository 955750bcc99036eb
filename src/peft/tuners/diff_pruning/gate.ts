// The hard-concrete gate (Louizos et al. 2018) that diff pruning puts on every entry of the
// difference: s = σ((log u − log(1 − u) + log α) / β) for u ~ U(0, 1) while training (σ(log α)
// at evaluation), stretched to (l, r) and clipped to [0, 1], so a gate is exactly 0 or 1 with
// positive probability and its expected L0 norm is differentiable in log α.
import { Tensor, rand } from '../../../tensor/index.js';

export interface GateShape {
  left: number;
  right: number;
  temperature: number;
}

/** Keeps u away from 0 and 1, where its logit is infinite. */
const EPS = 1e-6;

/** z ∈ [0, 1]: sampled while training, deterministic otherwise. */
export function hardConcrete(logAlpha: Tensor, { left, right, temperature }: GateShape, training: boolean): Tensor {
  let s: Tensor;
  if (training) {
    const u = rand(logAlpha.shape, { low: EPS, high: 1 - EPS });
    const noise = u.log().sub(u.neg().add(1).log());
    s = noise.add(logAlpha).div(temperature).sigmoid();
  } else {
    s = logAlpha.sigmoid();
  }
  return s.mul(right - left).add(left).clamp(0, 1);
}

/** P(z ≠ 0) per entry: σ(log α − β log(−l / r)), the expected L0 norm's terms. */
export function openProbability(logAlpha: Tensor, { left, right, temperature }: GateShape): Tensor {
  return logAlpha.sub(temperature * Math.log(-left / right)).sigmoid();
}
