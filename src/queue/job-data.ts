// What a queued training job carries, and which jobs may train together.
import { join } from 'node:path';
import type { Recipe } from '../cli/recipe/schema.js';
import { taskOf } from '../cli/model-folder.js';

/** A queued job's data: the recipe as submitted (paths absolute, overrides applied). */
export interface QueuedJob {
  recipe: Recipe;
  /** The recipe file it came from (named in messages). */
  recipePath: string;
}

/** The progress a worker reports for a running job. */
export interface JobProgress {
  step: number;
  maxSteps: number;
  loss?: number;
}

/** Written atomically into the job's output folder when it completes; a job that finds it is done already. */
export const DONE_FILE = 'queue-done.json';

export interface DoneRecord {
  job: string;
  result: Record<string, unknown>;
}

export const doneFile = (recipe: Recipe) => join(recipe.output, DONE_FILE);

/** Whether a job's recipe trains with gradient checkpointing (a quantised base does unless the recipe turns it off, as `peft train` does). */
export const trainsWithCheckpointing = (recipe: Recipe): boolean => recipe.training.gradient_checkpointing ?? recipe.quantization !== undefined;

/**
 * The base a job trains on, when it may share it with other jobs (the concurrent trainer: causal
 * LMs); null when it trains alone. Jobs with equal keys train together: same model, quantisation and
 * gradient checkpointing (MultiTrainer checkpoints every job of a run or none).
 */
export function sharedBaseKey(recipe: Recipe): string | null {
  if (taskOf(recipe.data.format as never) !== 'causal-lm') return null;
  return JSON.stringify([recipe.model, recipe.quantization ?? null, trainsWithCheckpointing(recipe)]);
}
