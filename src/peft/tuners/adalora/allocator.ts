// AdaLoRA's rank allocator (HF's RankAllocator): scores every triplet (row of A, singular value in
// E, column of B) by its smoothed sensitivity and masks the singular values of the least important
// ones down to the scheduled budget. Scores are computed by tensor ops; only one score per triplet
// (init_r per module) is read back to pick the threshold.
import { Tensor, keep, noGrad, tidy, zerosLike } from '../../../tensor/index.js';
import type { Parameter } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import type { RankMasks } from './config.js';
import { budgetAt, type Budget } from './budget.js';
import { patternKey, type TrainableAdapter } from './trainable.js';

/** The moving averages of one parameter's importance, element by element. */
export interface ImportanceAverages {
  /** EMA (beta1) of the sensitivity |w ⊙ grad|. */
  sensitivity: Tensor;
  /** EMA (beta2) of the uncertainty |sensitivity now − its EMA|. */
  uncertainty: Tensor;
}

export class RankAllocator {
  /** The triplets at the start: init_r per module. */
  readonly initBudget: number;
  /** The triplets at the end: target_r per module. */
  readonly targetBudget: number;
  private readonly averages = new Map<string, ImportanceAverages>();

  constructor(readonly adapter: TrainableAdapter) {
    this.initBudget = adapter.layers.reduce((n, [, layer]) => n + layer.lora_A.get(adapter.name)!.shape[0]!, 0);
    this.targetBudget = adapter.config.targetR * adapter.layers.length;
  }

  budgetAt(step: number): Budget {
    return budgetAt(step, this.initBudget, this.targetBudget, this.adapter.config);
  }

  /** The averages of a parameter, by its path in the model (`model.layers.0.self_attn.q_proj.lora_A.default`). */
  averagesOf(path: string): ImportanceAverages | undefined {
    return this.averages.get(path);
  }

  /** HF's update_and_allocate: updates the scores (before the final phase) and masks when the schedule says so. */
  step(globalStep: number, force = false): { budget: number; rankPattern: RankMasks | null } {
    const { totalStep, tfinal } = this.adapter.config;
    if (globalStep < totalStep - tfinal) this.updateImportance();
    const { budget, mask } = this.budgetAt(globalStep);
    return { budget, rankPattern: mask || force ? this.maskToBudget(budget) : null };
  }

  /** One more sample of |w ⊙ grad| for every A, B and E (call after backward). */
  updateImportance(): void {
    const { beta1, beta2 } = this.adapter.config;
    // Checked for all first, so that an error leaves every average as it was.
    const missing = [...this.parameters()].find(([, p]) => p.grad === null);
    if (missing !== undefined) {
      throw new PeftConfigError(`${missing[0]} has no gradient: call updateAndAllocate after loss.backward() and before zeroing the gradients`);
    }
    noGrad(() => {
      for (const [path, p] of this.parameters()) {
        const grad = p.grad!;
        const old = this.averages.get(path);
        const next = tidy(() => {
          const sample = p.mul(grad).abs();
          const { sensitivity: s, uncertainty: u } = old ?? { sensitivity: zerosLike(p), uncertainty: zerosLike(p) };
          const sensitivity = s.mul(beta1).add(sample.mul(1 - beta1));
          return { sensitivity, uncertainty: u.mul(beta2).add(sample.sub(sensitivity).abs().mul(1 - beta2)) };
        });
        old?.sensitivity.dispose();
        old?.uncertainty.dispose();
        this.averages.set(path, { sensitivity: keep(next.sensitivity), uncertainty: keep(next.uncertainty) });
      }
    });
  }

  /** Every average by `<parameter path>.sensitivity` / `.uncertainty` (the allocator's own tensors). */
  averagesByName(): Map<string, Tensor> {
    const named = new Map<string, Tensor>();
    for (const [path, { sensitivity, uncertainty }] of this.averages) {
      named.set(`${path}.sensitivity`, sensitivity);
      named.set(`${path}.uncertainty`, uncertainty);
    }
    return named;
  }

  /** Replaces the averages with copies of `named` (as averagesByName gives them); checked before anything changes. */
  loadAverages(named: ReadonlyMap<string, Tensor>): void {
    const live = new Map(this.parameters());
    const paths = new Set([...named.keys()].map((key) => key.replace(/\.(sensitivity|uncertainty)$/, '')));
    for (const path of paths) {
      const p = live.get(path);
      const pair = [named.get(`${path}.sensitivity`), named.get(`${path}.uncertainty`)];
      if (p === undefined || pair.some((t) => t === undefined || t.shape.join() !== p.shape.join())) {
        throw new PeftConfigError(`importance averages for '${path}' do not fit adapter '${this.adapter.name}' (no such parameter, a missing half or another shape); resume with the same model and AdaLoRA options`);
      }
    }
    this.reset();
    for (const path of paths) {
      const copy = (kind: string) => keep(noGrad(() => named.get(`${path}.${kind}`)!.clone()));
      this.averages.set(path, { sensitivity: copy('sensitivity'), uncertainty: copy('uncertainty') });
    }
  }

  /** Forgets the averages (HF's reset_ipt, once the rank pattern is final). */
  reset(): void {
    for (const { sensitivity, uncertainty } of this.averages.values()) {
      sensitivity.dispose();
      uncertainty.dispose();
    }
    this.averages.clear();
  }

  /**
   * Each triplet's score: E's element score plus the mean score of its row of A and of its column
   * of B (an element's score is sensitivity EMA × uncertainty EMA), by module pattern key.
   */
  tripletScores(): Map<string, number[]> {
    const name = this.adapter.name;
    const scores = new Map<string, number[]>();
    for (const [path] of this.adapter.layers) {
      const score = tidy(() =>
        noGrad(() => {
          const a = this.elementScore(`${path}.lora_A.${name}`).mean(1);
          const b = this.elementScore(`${path}.lora_B.${name}`).mean(0);
          const e = this.elementScore(`${path}.lora_E.${name}`).reshape([-1]);
          return e.add(a.add(b)).toFlatArray();
        }),
      );
      scores.set(patternKey(path), score);
    }
    return scores;
  }

  /** Zeroes the singular values of every triplet scored at or below the (init − budget)-th smallest score. */
  maskToBudget(budget: number): RankMasks {
    const scores = this.tripletScores();
    const threshold = kthSmallest([...scores.values()].flat(), this.initBudget - budget);
    const pattern: RankMasks = {};
    for (const [path, layer] of this.adapter.layers) {
      const key = patternKey(path);
      pattern[key] = scores.get(key)!.map((s) => s > threshold);
      layer.maskTriplets(this.adapter.name, pattern[key]);
    }
    return pattern;
  }

  /** Masks with a final rank pattern (HF's mask_using_rank_pattern, every step after it was fixed). */
  maskWithPattern(pattern: RankMasks): void {
    for (const [path, layer] of this.adapter.layers) {
      const keepMask = pattern[patternKey(path)];
      if (keepMask === undefined) throw new PeftConfigError(`rank_pattern has no entry for '${patternKey(path)}'`);
      // A layer loaded with the pattern already has only the kept triplets: nothing to mask.
      const loadedResized = layer.lora_E.get(this.adapter.name)!.shape[0] === keepMask.filter(Boolean).length;
      if (!loadedResized) layer.maskTriplets(this.adapter.name, keepMask);
    }
  }

  private elementScore(path: string): Tensor {
    const averages = this.averages.get(path);
    if (averages === undefined) throw new PeftConfigError(`no importance recorded for ${path} yet: the first allocation must come after a step that updates the scores`);
    return averages.sensitivity.mul(averages.uncertainty);
  }

  /** A, B and E of the adapter on every layer, by path in the model. */
  private *parameters(): Generator<[string, Parameter]> {
    const name = this.adapter.name;
    for (const [path, layer] of this.adapter.layers) {
      for (const dict of ['lora_A', 'lora_B', 'lora_E'] as const) yield [`${path}.${dict}.${name}`, layer[dict].get(name)!];
    }
  }
}

/**
 * The k-th smallest value (1-based, torch.kthvalue). k = 0, a budget that masks nothing, gives
 * −∞ (torch would refuse it; that happens only when target_r equals init_r).
 */
function kthSmallest(values: number[], k: number): number {
  if (k <= 0) return -Infinity;
  return [...values].sort((x, y) => x - y)[Math.min(k, values.length) - 1]!;
}
