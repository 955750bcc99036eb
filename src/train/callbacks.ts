// Trainer callbacks (HF's TrainerCallback): hooks at the points of a run, a shared state to read,
// and a control object to stop the run. Early stopping is one of them.
import { TrainingArgumentError, CheckpointError } from './errors.js';

/** Where the run is; the Trainer updates it, callbacks read it. */
export interface TrainerState {
  /** Optimizer steps taken. */
  globalStep: number;
  /** Fractional epochs done (2.5 = halfway through the third). */
  epoch: number;
  /** Optimizer steps the run will take. */
  maxSteps: number;
  /** Every log and evaluation record so far. */
  logHistory: Record<string, number>[];
}

/** What callbacks can ask of the Trainer. */
export interface TrainerControl {
  /** End the run after this step (a checkpoint is written first when saving is on). */
  shouldStop: boolean;
}

/** One log line: step, epoch, mean loss since the last log, learning rate, gradient norm, speed. */
export type LogRecord = Record<string, number> & { step: number; epoch: number };

type Hook<A extends unknown[]> = (...args: [...A, TrainerState, TrainerControl]) => void | Promise<void>;

export interface TrainerCallback {
  onTrainBegin?: Hook<[]>;
  /** After each optimizer step. */
  onStep?: Hook<[]>;
  /** Every loggingSteps steps, and once with the run's summary at the end. */
  onLog?: Hook<[LogRecord]>;
  /** After each evaluation, with its metrics (evalLoss, evalPerplexity, evalAccuracy, ...). */
  onEvaluate?: Hook<[Record<string, number>]>;
  /** After a checkpoint folder is complete. */
  onSave?: Hook<[string]>;
  onTrainEnd?: Hook<[]>;
  /** State to keep in checkpoints (so a resumed run decides as the uninterrupted one). */
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

export interface EarlyStoppingOptions {
  /** Evaluations without improvement before stopping. */
  patience: number;
  /** The metric to watch (default evalLoss). */
  metric?: string;
  /** 'min' when lower is better (losses), 'max' when higher is (accuracy). Default: min for losses, else max. */
  mode?: 'min' | 'max';
  /** Smallest change that counts as an improvement. */
  threshold?: number;
}

/** Stops the run after `patience` evaluations without improvement of `metric` (HF's EarlyStoppingCallback). */
export class EarlyStopping implements TrainerCallback {
  readonly metric: string;
  readonly mode: 'min' | 'max';
  private best: number | null = null;
  private waited = 0;

  constructor(private readonly options: EarlyStoppingOptions) {
    if (!(Number.isInteger(options.patience) && options.patience >= 1)) {
      throw new TrainingArgumentError(`early stopping patience must be an integer >= 1, not ${options.patience}`);
    }
    this.metric = options.metric ?? 'evalLoss';
    this.mode = options.mode ?? (/loss|perplexity/i.test(this.metric) ? 'min' : 'max');
  }

  onEvaluate(metrics: Record<string, number>, _state: TrainerState, control: TrainerControl): void {
    const value = metrics[this.metric];
    if (value === undefined) {
      throw new TrainingArgumentError(`early stopping watches '${this.metric}', which the evaluation did not report; it reported ${Object.keys(metrics).join(', ')}`);
    }
    const threshold = this.options.threshold ?? 0;
    const improved = this.best === null || (this.mode === 'min' ? value < this.best - threshold : value > this.best + threshold);
    if (improved) {
      this.best = value;
      this.waited = 0;
    } else if (++this.waited >= this.options.patience) {
      control.shouldStop = true;
    }
  }

  stateDict(): { best: number | null; waited: number } {
    return { best: this.best, waited: this.waited };
  }

  loadStateDict(state: unknown): void {
    const s = state as { best?: unknown; waited?: unknown };
    if (!(s.best === null || typeof s.best === 'number') || typeof s.waited !== 'number') {
      throw new CheckpointError('the early-stopping state in the checkpoint is not { best, waited }');
    }
    this.best = s.best;
    this.waited = s.waited;
  }
}
