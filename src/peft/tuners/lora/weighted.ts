// A new LoRA adapter made from weighted existing ones (HF PEFT's add_weighted_adapter):
// 'cat' stacks the ranks (exact: the new ΔW is Σ wᵢ·ΔWᵢ), 'linear' / 'ties' / 'dare_*' /
// 'magnitude_prune' combine the A and B factors, and the '*svd' kinds combine the full ΔWᵢ and
// factor the result back to rank r with an SVD.
import { Tensor, concat, noGrad, svd, ValueError, sort, zeros } from '../../../tensor/index.js';
import { combineTensors, type Combination, type CombineOptions } from '../../merge-utils.js';
import { AdapterNameError } from '../../errors.js';
import type { TunerModel } from '../../tuner-model.js';
import type { LoraConfig } from './config.js';
import { LoraLinear } from './layer.js';

export type CombinationType = Combination | 'cat' | 'svd' | `${Exclude<Combination, 'linear'>}_svd`;

export interface WeightedAdapterOptions extends CombineOptions {
  /** Rank of an SVD-combined adapter (default: the largest rank combined). */
  svdRank?: number;
  /** Clamp the SVD factors to this quantile of their absolute values (HF's svd_clamp). */
  svdClamp?: number;
}

const FACTOR_KINDS: readonly string[] = ['linear', 'ties', 'dare_linear', 'dare_ties', 'magnitude_prune'];

export function addWeightedLoraAdapter(
  tuner: TunerModel,
  adapters: readonly string[],
  weights: readonly number[],
  name: string,
  requested: CombinationType,
  options: WeightedAdapterOptions = {},
): void {
  if (adapters.length === 0 || adapters.length !== weights.length) {
    throw new ValueError(`addWeightedAdapter: give one weight per adapter (got ${adapters.length} adapters and ${weights.length} weights)`);
  }
  if (tuner.configs.has(name)) throw new AdapterNameError(`an adapter named '${name}' exists already; pick another name`);
  const configs = adapters.map((a) => tuner.requireAdapter(a) as LoraConfig);
  const kind = adapters.length === 1 ? 'linear' : requested;
  const ranks = configs.map((c) => c.r);
  const rank = newRank(kind, ranks, options.svdRank);
  const config: LoraConfig = { ...configs[0]!, r: rank, loraAlpha: rank, targetModules: unionTargets(configs), rankPattern: {}, alphaPattern: {} };
  tuner.injectAdapter(name, config);
  noGrad(() => {
    for (const [, layer] of tuner.tunerLayers()) {
      if (!(layer instanceof LoraLinear) || !layer.hasAdapter(name)) continue;
      const present = adapters.map((a, i) => [a, weights[i]!] as const).filter(([a]) => layer.hasAdapter(a));
      const [a, b] = combineLayer(layer, present, kind, rank, options);
      layer.lora_A.get(name)!.weight.copy_(a);
      layer.lora_B.get(name)!.weight.copy_(b);
    }
  });
  tuner.markTrainable();
}

function newRank(kind: string, ranks: number[], svdRank: number | undefined): number {
  if (FACTOR_KINDS.includes(kind)) {
    if (new Set(ranks).size !== 1) throw new ValueError(`combination '${kind}' needs adapters of one rank (got ranks ${ranks.join(', ')}); use 'cat' or 'svd'`);
    return ranks[0]!;
  }
  if (kind === 'cat') return ranks.reduce((s, r) => s + r, 0);
  if (kind.endsWith('svd')) return svdRank ?? Math.max(...ranks);
  throw new ValueError(`unknown combination type '${kind}'; use one of cat, linear, svd, ties, dare_linear, dare_ties, magnitude_prune, or *_svd`);
}

/** Targets of the new adapter: the union of lists, or the alternation of regexes. */
function unionTargets(configs: LoraConfig[]): string[] | string {
  const targets = configs.map((c) => c.targetModules);
  if (targets.every((t) => Array.isArray(t))) return [...new Set(targets.flat() as string[])];
  if (targets.every((t) => typeof t === 'string')) return targets.map((t) => `(${t})`).join('|');
  throw new ValueError('the adapters mix target_modules lists and regexes; HF PEFT cannot combine those either');
}

/** The new adapter's A [r, in] and B [out, r] on one layer. */
function combineLayer(layer: LoraLinear, present: (readonly [string, number])[], kind: string, rank: number, options: WeightedAdapterOptions): [Tensor, Tensor] {
  if (present.length === 0) throw new ValueError('internal: a layer got the combined adapter but has none of its sources');
  const A = (a: string) => layer.lora_A.get(a)!.weight;
  const B = (a: string) => layer.lora_B.get(a)!.weight;
  if (kind === 'cat') {
    // Σ wᵢ sᵢ BᵢAᵢ = [B₁ … Bₙ]·[w₁s₁A₁; …; wₙsₙAₙ]; with alpha = r the new scaling is 1.
    // (A·w)·s in that order, as HF rounds it, so that the saved factors are bit-identical.
    const as = present.map(([a, w]) => A(a).mul(w).mul(layer.scaling.get(a)!));
    return padRows(concat(as, 0), concat(present.map(([a]) => B(a)), 1), rank);
  }
  if (FACTOR_KINDS.includes(kind)) {
    // HF splits each weight as √(w·s) onto both factors.
    const w = present.map(([a, weight]) => Math.sqrt(weight * layer.scaling.get(a)!));
    const combination = kind as Combination;
    return [combineTensors(combination, present.map(([a]) => A(a)), w, options), combineTensors(combination, present.map(([a]) => B(a)), w, options)];
  }
  // As HF PEFT does, ΔWᵢ = sᵢBᵢAᵢ is weighted by wᵢ·sᵢ: the scaling counts twice. Kept for parity,
  // so that an adapter combined here equals one combined in Python.
  const deltas = present.map(([a]) => layer.deltaOutIn(a));
  const w = present.map(([a, weight]) => weight * layer.scaling.get(a)!);
  const combination = kind === 'svd' ? 'linear' : (kind.slice(0, -'_svd'.length) as Combination);
  return lowRankFactors(combineTensors(combination, deltas, w, options), rank, options.svdClamp);
}

/** A layer that lacks some of the sources fills the rest of the new rank with zeros (as HF). */
function padRows(a: Tensor, b: Tensor, rank: number): [Tensor, Tensor] {
  const extra = rank - a.shape[0]!;
  if (extra === 0) return [a, b];
  return [concat([a, zeros([extra, a.shape[1]!])], 0), concat([b, zeros([b.shape[0]!, extra])], 1)];
}

/** ΔW ≈ (U·S)[:, :r]·Vh[:r], as A = Vh_r and B = U_r·S_r (optionally clamped). */
function lowRankFactors(delta: Tensor, rank: number, clamp: number | undefined): [Tensor, Tensor] {
  const { U, S, Vh } = svd(delta);
  let b = U.narrow(1, 0, rank).mul(S.narrow(0, 0, rank).unsqueeze(0));
  let a = Vh.narrow(0, 0, rank);
  if (clamp !== undefined) {
    const high = quantile(concat([b.reshape([-1]), a.reshape([-1])], 0), clamp);
    b = b.clamp(-high, high);
    a = a.clamp(-high, high);
  }
  return [a.contiguous(), b.contiguous()];
}

/** torch.quantile with linear interpolation. */
function quantile(values: Tensor, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new ValueError(`svdClamp must be a quantile in [0, 1], not ${q}`);
  const sorted = sort(values).values.toFlatArray();
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
