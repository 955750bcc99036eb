// Combining task tensors (adapter weights or weight updates) as HF PEFT's merge_utils does:
// task arithmetic, TIES (trim, elect sign, disjoint merge), DARE (random drop and rescale) and
// magnitude pruning. Each takes tensors of one shape and one weight per tensor.
import { Tensor, noGrad, stack, topk, bernoulli, where, zeros, tensor, scatter, ValueError, type Generator } from '../tensor/index.js';

export type MajoritySignMethod = 'total' | 'frequency';

/** Σ wᵢ·tᵢ over a stack [n, ...]. */
function weightedSum(stacked: Tensor, weights: readonly number[]): Tensor {
  return stacked.mul(weightColumn(stacked, weights)).sum(0);
}

function weightColumn(stacked: Tensor, weights: readonly number[]): Tensor {
  const shape = [weights.length, ...stacked.shape.slice(1).map(() => 1)];
  return tensor([...weights], shape);
}

/** Keeps the `density` fraction of entries with the largest magnitude, zeroes the rest. */
export function magnitudePrune(t: Tensor, density: number): Tensor {
  checkDensity(density);
  if (density >= 1) return t;
  const flat = t.reshape([-1]);
  const k = Math.floor(density * flat.size);
  if (k === 0) return zeros(t.shape);
  const mask = scatter(zeros([flat.size]), 0, topk(flat.abs(), k).indices, 1);
  return t.mul(mask.reshape(t.shape));
}

/** DARE's pruning: keeps each entry with probability `density` and rescales the kept ones by 1/density. */
export function randomPrune(t: Tensor, density: number, generator?: Generator): Tensor {
  checkDensity(density);
  if (density >= 1) return t;
  return t.mul(bernoulli(t.shape, density, { generator })).div(density);
}

function checkDensity(density: number): void {
  if (!(density >= 0)) throw new ValueError(`density must be in [0, 1] (the fraction of entries kept), not ${density}`);
}

/** True where an entry's sign agrees with the elected sign of its position (TIES). */
function majoritySignMask(stacked: Tensor, method: MajoritySignMethod): Tensor {
  const sign = stacked.sign();
  const magnitude = method === 'total' ? stacked.sum(0) : sign.sum(0);
  const elected = where(magnitude.ge(0), 1, -1);
  return sign.eq(elected);
}

/** Mean over the tensors that agree with the elected sign, weighted (TIES' disjoint merge). */
function disjointMerge(weighted: Tensor, mask: Tensor): Tensor {
  const m = mask.to('float32');
  return weighted.mul(m).sum(0).div(m.sum(0).clamp(1));
}

export interface CombineOptions {
  density?: number;
  majoritySignMethod?: MajoritySignMethod;
  generator?: Generator;
}

export type Combination = 'linear' | 'ties' | 'dare_linear' | 'dare_ties' | 'magnitude_prune';

/** Combines same-shaped tensors with one of HF's task-arithmetic rules. */
export function combineTensors(kind: Combination, tensors: readonly Tensor[], weights: readonly number[], options: CombineOptions = {}): Tensor {
  return noGrad(() => {
    const density = options.density ?? 1;
    if (kind !== 'linear' && options.density === undefined) {
      throw new ValueError(`combination '${kind}' needs a density (the fraction of entries kept, in [0, 1])`);
    }
    const method = options.majoritySignMethod ?? 'total';
    switch (kind) {
      case 'linear':
        return weightedSum(stack([...tensors]), weights);
      case 'magnitude_prune':
        return weightedSum(stack(tensors.map((t) => magnitudePrune(t, density))), weights);
      case 'dare_linear':
        return weightedSum(stack(tensors.map((t) => randomPrune(t, density, options.generator))), weights);
      case 'ties':
      case 'dare_ties': {
        const prune = kind === 'ties' ? (t: Tensor) => magnitudePrune(t, density) : (t: Tensor) => randomPrune(t, density, options.generator);
        const stacked = stack(tensors.map(prune));
        return disjointMerge(stacked.mul(weightColumn(stacked, weights)), majoritySignMask(stacked, method));
      }
    }
  });
}
