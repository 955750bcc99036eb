// Learning-rate schedules: HF transformers' get_*_schedule_with_warmup, formula for formula. Each
// gives a factor of the step; the scheduler sets every group's lr to its initial lr × factor
// (torch's LambdaLR), and is stepped once per optimizer step.
import { TrainingArgumentError, CheckpointError } from './errors.js';
import type { Optimizer } from './optim/optimizer.js';

export const SCHEDULES = ['constant', 'constant_with_warmup', 'linear', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface ScheduleOptions {
  /** Steps of linear warmup from 0. */
  warmupSteps?: number;
  /** Optimizer steps of the whole run (linear and cosine decay to 0 at this step). */
  totalSteps?: number;
  /** Cosine: number of waves (HF's num_cycles; 0.5 is one half-cosine from the peak to 0). */
  numCycles?: number;
}

/** The factor of the initial lr at `step` (0-based count of optimizer steps taken). */
export function scheduleFactor(name: ScheduleName, step: number, options: ScheduleOptions = {}): number {
  const warmup = options.warmupSteps ?? 0;
  if (name === 'constant') return 1;
  if (step < warmup) return step / Math.max(1, warmup);
  if (name === 'constant_with_warmup') return 1;
  const total = options.totalSteps!;
  if (name === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (options.numCycles ?? 0.5) * 2 * progress)));
}

/** Checks a schedule's options (names the bad one). */
export function checkSchedule(name: string, options: ScheduleOptions): asserts name is ScheduleName {
  if (!(SCHEDULES as readonly string[]).includes(name)) throw new TrainingArgumentError(`unknown lr schedule '${name}'; use one of ${SCHEDULES.join(', ')}`);
  const warmup = options.warmupSteps ?? 0;
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new TrainingArgumentError(`warmupSteps must be an integer >= 0, not ${warmup}`);
  if ((name === 'linear' || name === 'cosine') && !(Number.isInteger(options.totalSteps) && options.totalSteps! > 0)) {
    throw new TrainingArgumentError(`the ${name} schedule needs totalSteps (an integer > 0), not ${options.totalSteps}; set maxSteps or give a dataset with a length`);
  }
}

export interface SchedulerState {
  name: ScheduleName;
  step: number;
  initialLrs: number[];
}

/** Sets the optimizer's lrs from a schedule; call step() after each optimizer.step(). */
export class LRScheduler {
  private stepCount = 0;
  private readonly initialLrs: number[];

  constructor(
    private readonly optimizer: Optimizer,
    readonly name: ScheduleName,
    private readonly options: ScheduleOptions = {},
  ) {
    checkSchedule(name, options);
    this.initialLrs = optimizer.paramGroups.map((g) => (g.initialLr ??= g.lr));
    this.apply();
  }

  /** The lr of each group now. */
  get lastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  step(): void {
    this.stepCount++;
    this.apply();
  }

  private apply(): void {
    const factor = scheduleFactor(this.name, this.stepCount, this.options);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.initialLrs[i]! * factor));
  }

  stateDict(): SchedulerState {
    return { name: this.name, step: this.stepCount, initialLrs: [...this.initialLrs] };
  }

  loadStateDict(state: SchedulerState): void {
    if (state.name !== this.name || state.initialLrs.length !== this.initialLrs.length) {
      throw new CheckpointError(`the checkpoint's scheduler is '${state.name}' over ${state.initialLrs.length} groups; this one is '${this.name}' over ${this.initialLrs.length}`);
    }
    this.stepCount = state.step;
    this.initialLrs.splice(0, this.initialLrs.length, ...state.initialLrs);
    this.apply();
  }
}
