// AdaLoRA's rank budget over training (HF's RankAllocator.budget_schedule): the initial budget
// during the tinit warm-up, then a cubic decrease to the target budget, reached at
// total_step − tfinal and kept until the end.

export interface BudgetSchedule {
  tinit: number;
  tfinal: number;
  totalStep: number;
  deltaT: number;
}

export interface Budget {
  /** How many triplets (rank-1 components) may be kept over all adapted modules. */
  budget: number;
  /** Whether this step masks the triplets down to the budget. */
  mask: boolean;
}

export function budgetAt(step: number, initBudget: number, targetBudget: number, s: BudgetSchedule): Budget {
  if (step <= s.tinit) return { budget: initBudget, mask: false };
  if (step > s.totalStep - s.tfinal) return { budget: targetBudget, mask: true };
  const remaining = 1 - (step - s.tinit) / (s.totalStep - s.tfinal - s.tinit);
  // Python's int(): the budget is truncated, not rounded.
  const budget = Math.trunc((initBudget - targetBudget) * remaining ** 3 + targetBudget);
  return { budget, mask: step % s.deltaT === 0 };
}
