// peft train multi.yaml (a recipe with jobs:): several jobs, each an adapter of any method with its
// own data, training arguments and output folder, trained together on one base model
// (MultiTrainer). Each job's folder gets what a single run's gets: adapter/, checkpoints,
// metrics.jsonl, report.html. While the run goes on, a job file (one jobs: entry as YAML) dropped
// into <output>/jobs/ joins it, and an empty file <output>/jobs/<name>.cancel cancels job <name>.
// --resume continues every unfinished job from its newest checkpoint, the added ones included.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MultiAdapterModel } from '../../peft/index.js';
import { MultiTrainer, prepareModelForKbitTraining, type Batch, type IndexedBatches, type JobResult, type JobSpec, type TrainerCallback } from '../../train/index.js';
import type { PreTrainedTokenizer } from '../../io/index.js';
import { openRunData } from '../data.js';
import { InputError } from '../exit-codes.js';
import { openModel, openTokenizer, taskOf } from '../model-folder.js';
import type { ProgressBoard } from '../progress-board.js';
import { isMultiRecipe, loadMultiRecipe, methodConfig, parseJobFile, type Overrides } from '../recipe/load.js';
import type { JobRecipe, MultiRecipe } from '../recipe/schema.js';
import { MetricsLog } from '../report/metrics-log.js';
import { finishRun, metricsRecorder, prepareOutput, quantizationOptions, trainingArguments } from './train.js';

export const JOBS_DIR = 'jobs';
const CANCEL_SUFFIX = '.cancel';

export interface MultiTrainCommandOptions {
  overrides: Overrides;
  overwrite: boolean;
  resume: boolean;
  board: ProgressBoard;
  /** Milliseconds to wait before each step: lets tests act on a run of a tiny model mid-way. */
  stepDelay?: number;
  /** More callbacks for job `name` (a queue worker's progress and cancellation). */
  jobCallbacks?: (name: string) => TrainerCallback[];
}

/** A job with its opened data and its metrics log. */
export interface JobRun {
  recipe: JobRecipe & { output: string };
  spec: JobSpec;
  log: MetricsLog;
}

/** The run's shared pieces. */
export interface Run {
  recipe: MultiRecipe;
  tokenizer: PreTrainedTokenizer;
  model: MultiAdapterModel;
  options: MultiTrainCommandOptions;
  warn: (message: string) => void;
}

/** True when the recipe file describes a concurrent run (jobs:); an unreadable file is left to the recipe loader to report. */
export async function recipeHasJobs(path: string): Promise<boolean> {
  return isMultiRecipe(await readFile(path, 'utf8').catch(() => ''));
}

export async function trainMultiCommand(recipePath: string, options: MultiTrainCommandOptions): Promise<Record<string, unknown>> {
  const { board } = options;
  const warn = (message: string) => board.event('warning', { message }, `warning: ${message}`);
  const recipe = await loadMultiRecipe(recipePath, options.overrides);
  const jobsDir = join(recipe.output, JOBS_DIR);
  // On --resume the jobs added while the run went on come back from their files (and stay cancelled).
  const files = options.resume ? await jobFiles(jobsDir) : { jobs: [], cancels: [] };
  const added = await Promise.all(files.jobs.map(async (file) => parseJobFile(await readFile(file, 'utf8'), file)));
  const jobs = [...recipe.jobs, ...added];
  checkJobs(recipe, jobs);
  await prepareOutput(recipe.output, options);
  await mkdir(jobsDir, { recursive: true });
  const run = await openRun(recipe, options, warn);
  const runs = new Map<string, JobRun>();
  for (const job of jobs) {
    await prepareJobOutput(run, job);
    runs.set(job.name, await openJob(run, job));
  }
  const trainer = new MultiTrainer({ model: run.model, jobs: [...runs.values()].map((r) => r.spec), gradientCheckpointing: recipe.training.gradient_checkpointing ?? false });
  const seen = new Set([...files.jobs, ...files.cancels.map((name) => join(jobsDir, `${name}${CANCEL_SUFFIX}`))]);
  for (const name of files.cancels) if (runs.has(name)) trainer.cancelJob(name);
  const started = performance.now();
  const results = await trainer.train({
    resume: options.resume,
    beforeStep: async () => {
      if (options.stepDelay) await new Promise((done) => setTimeout(done, options.stepDelay));
      await watchJobs(run, jobsDir, seen, trainer, runs);
    },
  });
  const summary: Record<string, unknown> = {};
  for (const [name, result] of results) summary[name] = await finishJob(run, runs.get(name)!, result, trainer, started);
  return { output: recipe.output, jobs: summary };
}

/** The refusals that name jobs, before anything runs: another base model, a task other than a causal LM, a name twice. */
function checkJobs(recipe: MultiRecipe, jobs: readonly JobRecipe[]): void {
  const names = new Set<string>();
  for (const job of jobs) {
    if (names.has(job.name)) throw new InputError(`job '${job.name}' appears twice; give each job its own name`);
    names.add(job.name);
    if (job.model !== undefined && resolve(job.model) !== resolve(recipe.model)) {
      throw new InputError(`job '${job.name}': model ${job.model} is not the run's model ${recipe.model}; the jobs of one run share one base, so run it separately`);
    }
    if (job.quantization !== undefined && JSON.stringify(job.quantization) !== JSON.stringify(recipe.quantization ?? null)) {
      throw new InputError(`job '${job.name}': its quantization differs from the run's (${JSON.stringify(recipe.quantization ?? null)}); the jobs of one run share one base, so run it separately`);
    }
    const checkpointing = job.training.gradient_checkpointing;
    if (checkpointing !== undefined && checkpointing !== (recipe.training.gradient_checkpointing ?? false)) {
      throw new InputError(`job '${job.name}': gradient_checkpointing is the run's (the jobs share the base's layers); set it in the run's training: only`);
    }
    const task = taskOf(job.data.format as never);
    if (task !== 'causal-lm') throw new InputError(`job '${job.name}': data format '${job.data.format}' trains a ${task} model; concurrent runs train causal LMs (text, instruction, chat)`);
  }
}

/** The run's tokenizer and shared base (quantised when the recipe says so). */
export async function openRun(recipe: MultiRecipe, options: MultiTrainCommandOptions, warn: (message: string) => void): Promise<Run> {
  const tokenizer = await openTokenizer(recipe.model);
  const quantization = quantizationOptions(recipe.quantization);
  const base = await openModel(recipe.model, 'causal-lm', { quantization }, warn);
  // Checkpointing, when the recipe asks for it, is MultiTrainer's (recomputed under the jobs' routing and random states).
  if (quantization) prepareModelForKbitTraining(base, { useGradientCheckpointing: false });
  return { recipe, tokenizer, model: new MultiAdapterModel(base), options, warn };
}

const jobOutput = (run: Run, job: JobRecipe) => job.output ?? join(run.recipe.output, job.name);

/** Clears (or keeps, on --resume) a job's output folder; folders inside the run's own were prepared with it. */
async function prepareJobOutput(run: Run, job: JobRecipe): Promise<void> {
  const output = jobOutput(run, job);
  if (!output.startsWith(`${run.recipe.output}/`)) await prepareOutput(output, run.options);
  else await mkdir(output, { recursive: true });
}

/** Opens a job's data and makes its MultiTrainer job (its output folder is ready). */
export async function openJob(run: Run, job: JobRecipe): Promise<JobRun> {
  const output = jobOutput(run, job);
  const recipe = { ...job, output };
  const single = { model: run.recipe.model, method: job.method, data: job.data, training: job.training, output };
  const data = await openRunData(single, run.tokenizer, (m) => run.warn(`job '${job.name}': ${m}`));
  const t = job.training;
  const log = new MetricsLog(output);
  const spec: JobSpec = {
    name: job.name,
    config: methodConfig(job.method, 'CAUSAL_LM', `job '${job.name}'`),
    trainDataset: data.train.batches(t.batch_size ?? 8) as IndexedBatches<Batch>,
    evalDataset: data.eval?.batches(t.eval_batch_size ?? t.batch_size ?? 8) as IndexedBatches<Batch> | undefined,
    // gradient_checkpointing is the run's (MultiTrainer's option), not the job's.
    args: { ...trainingArguments(t, output), gradientCheckpointing: undefined },
    callbacks: [metricsRecorder(log), run.options.board.job(job.name), ...(run.options.jobCallbacks?.(job.name) ?? [])],
  };
  return { recipe, spec, log };
}

/** Job files (*.yaml, *.yml) and cancelled job names in the jobs folder. */
async function jobFiles(dir: string): Promise<{ jobs: string[]; cancels: string[] }> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  return {
    jobs: names.filter((n) => /\.ya?ml$/.test(n)).map((n) => join(dir, n)),
    cancels: names.filter((n) => n.endsWith(CANCEL_SUFFIX)).map((n) => n.slice(0, -CANCEL_SUFFIX.length)),
  };
}

/** Adds the jobs of new job files and cancels the jobs of new .cancel files; a bad file is a warning, the run goes on. */
async function watchJobs(run: Run, dir: string, seen: Set<string>, trainer: MultiTrainer, runs: Map<string, JobRun>): Promise<void> {
  const { jobs, cancels } = await jobFiles(dir);
  for (const file of jobs) {
    if (seen.has(file)) continue;
    seen.add(file);
    try {
      const job = parseJobFile(await readFile(file, 'utf8'), file);
      checkJobs(run.recipe, [...[...runs.values()].map((r) => r.recipe), job]);
      await prepareJobOutput(run, job);
      const opened = await openJob(run, job);
      trainer.addJob(opened.spec);
      runs.set(job.name, opened);
      run.options.board.event('job_added', { file }, `added from ${file}`, job.name);
    } catch (error) {
      run.warn(`job file ${file} not added: ${(error as Error).message}`);
    }
  }
  for (const name of cancels) {
    const file = join(dir, `${name}${CANCEL_SUFFIX}`);
    if (seen.has(file)) continue;
    seen.add(file);
    if (!runs.has(name)) {
      run.warn(`${file}: no job named '${name}'; the jobs are ${[...runs.keys()].join(', ')}`);
      continue;
    }
    trainer.cancelJob(name);
    run.options.board.event('job_cancelled', {}, 'cancelled', name);
  }
}

/** A finished or cancelled job's adapter, final evaluation and report; a failed job's message. */
export async function finishJob(run: Run, job: JobRun, result: JobResult, trainer: MultiTrainer, started: number): Promise<Record<string, unknown>> {
  const { board } = run.options;
  if (result.status === 'failed') {
    board.event('job_failed', { message: result.error!.message }, `failed: ${result.error!.message}`, job.recipe.name);
    return { status: 'failed', step: result.globalStep, error: result.error!.message };
  }
  if (!result.started) return { status: result.status, step: result.globalStep };
  const name = job.recipe.name;
  const own = run.model.adapterParameters(name).reduce((n, [, p]) => n + p.size, 0);
  const base = run.model.model.parameters().filter((p) => !p.requiresGrad).reduce((n, p) => n + p.size, 0);
  const training = trainer.job(name);
  const summary = await finishRun({
    output: job.recipe.output, title: `peft train: job ${name} (${job.recipe.method.peft_type}) on ${run.recipe.model}`, config: job.recipe, log: job.log, result,
    state: training.state, parameters: { trainable: own, total: base + own }, started,
    evaluate: job.spec.evalDataset === undefined ? undefined : () => training.evaluate(), save: (dir) => run.model.saveAdapter(name, dir),
  });
  return { status: result.status, ...summary };
}
