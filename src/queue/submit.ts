// `peft submit`: a recipe checked as `peft train` checks it, its output folder prepared in shared
// storage, then queued with its resolved content; a recipe with jobs: queues each job.
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkModelFolder } from '../cli/model-folder.js';
import { loadMultiRecipe, loadRecipe, type Overrides } from '../cli/recipe/load.js';
import type { Recipe } from '../cli/recipe/schema.js';
import { recipeHasJobs } from '../cli/commands/train-multi.js';
import { prepareOutput } from '../cli/commands/train.js';
import { InputError } from '../cli/exit-codes.js';
import { connectQueue, QueueError } from './connection.js';
import type { QueuedJob } from './job-data.js';

export interface SubmitOptions {
  overrides: Overrides;
  overwrite: boolean;
}

export interface Submitted {
  id: string;
  name: string;
  output: string;
}

/** Queues the recipe at `recipePath` on the queue at `url`; refuses a bad recipe before anything is queued or written. */
export async function submitRecipe(url: string, recipePath: string, options: SubmitOptions): Promise<Submitted> {
  return (await submitJobs(url, recipePath, [await loadRecipe(recipePath, options.overrides)], options))[0]!;
}

/**
 * Queues every job of the recipe at `recipePath`: one job, or with `jobs:` each job as its own queue
 * job (the run's model, training and data defaults filled in, output <run output>/<name> unless the
 * job names one). Jobs on one base are trained together by a worker that takes them together, or
 * join its running group; each can be listed, cancelled and resumed on its own.
 */
export async function submitRecipes(url: string, recipePath: string, options: SubmitOptions): Promise<Submitted[]> {
  if (!(await recipeHasJobs(recipePath))) return [await submitRecipe(url, recipePath, options)];
  const run = await loadMultiRecipe(recipePath, options.overrides);
  const recipes = run.jobs.map((job): Recipe => ({
    model: job.model ?? run.model,
    method: job.method,
    data: job.data,
    training: job.training,
    output: job.output ?? join(run.output, job.name),
    ...((job.quantization ?? run.quantization) !== undefined
      ? { quantization: job.quantization ?? run.quantization }
      : {}),
  }));
  return submitJobs(url, recipePath, recipes, options);
}

/** Checks every recipe, then prepares their output folders and queues them all at once. */
async function submitJobs(
  url: string,
  recipePath: string,
  recipes: readonly Recipe[],
  options: SubmitOptions,
): Promise<Submitted[]> {
  for (const recipe of recipes) {
    await checkModelFolder(recipe.model);
    for (const file of [recipe.data.train, ...(recipe.data.eval === undefined ? [] : [recipe.data.eval])]) {
      await access(file).catch(() => {
        throw new InputError(
          `${recipePath}: data file ${file} does not exist; the workers read it from the same path, so put it in shared storage`,
        );
      });
    }
  }
  const connection = await connectQueue(url);
  try {
    const unfinished = await connection.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
    for (const recipe of recipes) {
      const same = unfinished.find((job) => (job.data as QueuedJob).recipe.output === recipe.output);
      if (same !== undefined)
        throw new QueueError(
          `job ${same.id} (not finished) writes to ${recipe.output} already; give this one another output (--output)`,
        );
    }
    for (const recipe of recipes) await prepareOutput(recipe.output, { overwrite: options.overwrite, resume: false });
    const jobs = await connection.queue.addBulk(
      recipes.map((recipe) => ({ name: basename(recipe.output), data: { recipe, recipePath } satisfies QueuedJob })),
    );
    return jobs.map((job, i) => ({ id: job.id!, name: job.name, output: recipes[i]!.output }));
  } finally {
    await connection.close();
  }
}
