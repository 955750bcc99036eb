// Training arguments: HF TrainingArguments in camelCase, with HF's defaults, checked in one place.
import type { DType } from '../tensor/index.js';
import type { EarlyStoppingOptions } from './callbacks.js';
import { TrainingArgumentError } from './errors.js';
import { SCHEDULES, type ScheduleName } from './schedule.js';

export interface TrainingArguments {
  /** Where checkpoints go (needed when saveSteps is set). */
  outputDir?: string;
  /** Passes over the training data (default 1); maxSteps, when set, takes precedence. */
  epochs?: number;
  /** Optimizer steps to take in all. */
  maxSteps?: number;
  /** Peak learning rate (HF's default 5e-5). */
  lr?: number;
  weightDecay?: number;
  optimizer?: 'adamw' | 'sgd';
  adamBetas?: [number, number];
  adamEpsilon?: number;
  /** SGD only. */
  momentum?: number;
  nesterov?: boolean;
  /** LoRA+: lora_B's lr = lr × this (16 in the paper). */
  loraplusLrRatio?: number;
  loraplusLrEmbedding?: number;
  lrScheduler?: ScheduleName;
  warmupSteps?: number;
  /** Warmup as a fraction of maxSteps (used when warmupSteps is not given). */
  warmupRatio?: number;
  /** Clip gradients to this global norm (HF's default 1); 0 turns clipping off. */
  maxGradNorm?: number;
  gradientAccumulationSteps?: number;
  /** Recompute each layer's activations in backward instead of keeping them. */
  gradientCheckpointing?: boolean;
  /** Store the frozen base weights in this dtype (adapters stay float32). */
  frozenDtype?: Extract<DType, 'bfloat16' | 'float16'>;
  /** Seeds the default generator (dropout) and the shuffling (default 42). */
  seed?: number;
  /** Shuffle indexable training data each epoch (default true). */
  shuffle?: boolean;
  /** Log every N optimizer steps (default 10). */
  loggingSteps?: number;
  /**
   * 'steps' (every evalSteps), 'epoch', or 'no'; default 'steps' when evalSteps is given, else
   * 'epoch' when there is evaluation data.
   */
  evalStrategy?: 'no' | 'steps' | 'epoch';
  /** Evaluate every N optimizer steps (implies evalStrategy 'steps'). */
  evalSteps?: number;
  /** Write a checkpoint every N optimizer steps (and at the end). */
  saveSteps?: number;
  /** Keep only the newest K checkpoints. */
  saveTotalLimit?: number;
  earlyStopping?: EarlyStoppingOptions;
}

export type ResolvedArguments = Required<Omit<TrainingArguments, 'outputDir' | 'maxSteps' | 'loraplusLrRatio' | 'frozenDtype' | 'saveSteps' | 'saveTotalLimit' | 'earlyStopping' | 'warmupSteps' | 'evalSteps'>> &
  Pick<TrainingArguments, 'outputDir' | 'maxSteps' | 'loraplusLrRatio' | 'frozenDtype' | 'saveSteps' | 'saveTotalLimit' | 'earlyStopping' | 'warmupSteps' | 'evalSteps'>;

const KNOWN = new Set([
  'outputDir', 'epochs', 'maxSteps', 'lr', 'weightDecay', 'optimizer', 'adamBetas', 'adamEpsilon', 'momentum', 'nesterov', 'loraplusLrRatio',
  'loraplusLrEmbedding', 'lrScheduler', 'warmupSteps', 'warmupRatio', 'maxGradNorm', 'gradientAccumulationSteps', 'gradientCheckpointing',
  'frozenDtype', 'seed', 'shuffle', 'loggingSteps', 'evalStrategy', 'evalSteps', 'saveSteps', 'saveTotalLimit', 'earlyStopping',
]);

function positiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new TrainingArgumentError(`${name} must be an integer > 0, not ${value}`);
}

/** The seed when the arguments give none (HF's). */
export const DEFAULT_SEED = 42;

/** Fills HF's defaults and checks every field (unknown names included). */
export function resolveArguments(args: TrainingArguments, hasEvalData: boolean): ResolvedArguments {
  for (const key of Object.keys(args)) {
    if (!KNOWN.has(key)) throw new TrainingArgumentError(`unknown training argument '${key}'; known ones are ${[...KNOWN].join(', ')}`);
  }
  const r: ResolvedArguments = {
    epochs: 1, lr: 5e-5, weightDecay: 0, optimizer: 'adamw', adamBetas: [0.9, 0.999], adamEpsilon: 1e-8, momentum: 0, nesterov: false,
    loraplusLrEmbedding: 1e-6, lrScheduler: 'linear', warmupRatio: 0, maxGradNorm: 1, gradientAccumulationSteps: 1, gradientCheckpointing: false,
    seed: DEFAULT_SEED, shuffle: true, loggingSteps: 10, evalStrategy: args.evalSteps !== undefined ? 'steps' : hasEvalData ? 'epoch' : 'no',
    ...Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)),
  };
  positiveInt('epochs', r.epochs);
  positiveInt('maxSteps', r.maxSteps);
  positiveInt('gradientAccumulationSteps', r.gradientAccumulationSteps);
  positiveInt('loggingSteps', r.loggingSteps);
  positiveInt('evalSteps', r.evalSteps);
  positiveInt('saveSteps', r.saveSteps);
  positiveInt('saveTotalLimit', r.saveTotalLimit);
  if (!(r.lr >= 0)) throw new TrainingArgumentError(`lr must be >= 0, not ${r.lr}`);
  if (!(r.maxGradNorm >= 0)) throw new TrainingArgumentError(`maxGradNorm must be >= 0 (0: no clipping), not ${r.maxGradNorm}`);
  if (!(r.warmupRatio >= 0 && r.warmupRatio <= 1)) throw new TrainingArgumentError(`warmupRatio must be in [0, 1], not ${r.warmupRatio}`);
  if (r.optimizer !== 'adamw' && r.optimizer !== 'sgd') throw new TrainingArgumentError(`optimizer must be 'adamw' or 'sgd', not '${r.optimizer}'`);
  if (!(SCHEDULES as readonly string[]).includes(r.lrScheduler)) throw new TrainingArgumentError(`lrScheduler must be one of ${SCHEDULES.join(', ')}, not '${r.lrScheduler}'`);
  if (r.saveSteps !== undefined && r.outputDir === undefined) throw new TrainingArgumentError('saveSteps needs an outputDir to write checkpoints to');
  if (r.evalSteps !== undefined && r.evalStrategy !== 'steps') {
    throw new TrainingArgumentError(`evalSteps (${r.evalSteps}) evaluates every N steps, but evalStrategy is '${r.evalStrategy}'; drop one of them`);
  }
  if (r.evalStrategy !== 'no' && !hasEvalData) {
    const asked = args.evalStrategy === undefined ? `evalSteps (${r.evalSteps})` : `evalStrategy '${r.evalStrategy}'`;
    throw new TrainingArgumentError(`${asked} needs an evalDataset`);
  }
  if (r.evalStrategy === 'steps' && r.evalSteps === undefined) throw new TrainingArgumentError("evalStrategy 'steps' needs evalSteps");
  if (r.earlyStopping !== undefined && r.evalStrategy === 'no') throw new TrainingArgumentError('earlyStopping needs evaluations: give an evalDataset (and evalStrategy)');
  return r;
}
