// `peft submit`: a recipe checked as `peft train` checks it, its output folder prepared in shared
// storage, then queued with its resolved content.
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkModelFolder } from '../cli/model-folder.js';
import { loadRecipe, type Overrides } from '../cli/recipe/load.js';
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
  const recipe = await loadRecipe(recipePath, options.overrides);
  await checkModelFolder(recipe.model);
  for (const file of [recipe.data.train, ...(recipe.data.eval === undefined ? [] : [recipe.data.eval])]) {
    await access(file).catch(() => {
      throw new InputError(
        `${recipePath}: data file ${file} does not exist; the workers read it from the same path, so put it in shared storage`,
      );
    });
  }
  const connection = await connectQueue(url);
  try {
    const unfinished = await connection.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
    const same = unfinished.find((job) => (job.data as QueuedJob).recipe.output === recipe.output);
    if (same !== undefined)
      throw new QueueError(
        `job ${same.id} (not finished) writes to ${recipe.output} already; give this one another output (--output)`,
      );
    await prepareOutput(recipe.output, { overwrite: options.overwrite, resume: false });
    const name = basename(recipe.output);
    const data: QueuedJob = { recipe, recipePath };
    const job = await connection.queue.add(name, data);
    return { id: job.id!, name, output: recipe.output };
  } finally {
    await connection.close();
  }
}
