// Trains a group of queued jobs in the training process: jobs on a base that can be shared as a
// concurrent run (MultiTrainer, `peft train` with jobs:), which jobs the worker takes meanwhile join
// at the next step; a job whose base cannot be shared alone, as `peft train` runs it (trainRecipe).
// Each job resumes from the newest checkpoint in its output folder (a job a dead worker left),
// reports progress every step, stops at the next step when cancelled, and on completion creates
// its done record (once: a second finisher of the same job leaves it as it is) before saying so.
import { readFile } from 'node:fs/promises';
import { createFileOnce } from '../io/atomic.js';
import { latestCheckpoint, type TrainerCallback, type TrainerControl, type TrainerState } from '../train/index.js';
import { finishJob, openJob, openRun, type JobRun } from '../cli/commands/train-multi.js';
import { trainRecipe } from '../cli/commands/train.js';
import { ProgressBoard } from '../cli/progress-board.js';
import { Progress } from '../cli/progress.js';
import { MultiTrainer, type JobResult } from '../train/index.js';
import type { JobRecipe, MultiRecipe } from '../cli/recipe/schema.js';
import { doneFile, sharedBaseKey, trainsWithCheckpointing, type DoneRecord } from './job-data.js';
import type { FromTrainer, GroupJob } from './protocol.js';

export interface GroupChannel {
  send(message: FromTrainer): void;
  /** True once the worker has asked to cancel job `id`. */
  cancelled(id: string): boolean;
  /** Milliseconds to wait after each step (tests). */
  stepDelay?: number;
  /** The jobs the worker sent to join the run since last asked (each answered joined, done or failed). */
  joining(): GroupJob[];
}

const discard = { write: () => true };

/** The job's done record, when it completed before (a worker died between completing it and telling the queue). */
export async function readDone(job: GroupJob): Promise<DoneRecord | null> {
  const text = await readFile(doneFile(job.recipe), 'utf8').catch(() => null);
  if (text === null) return null;
  const record = JSON.parse(text) as DoneRecord;
  return record.job === job.id ? record : null;
}

/**
 * Records the job's completion once. The first training process to finish the job creates its done
 * record (createFileOnce: exclusive, atomic); one that finishes it later (the job was retaken after
 * its first worker's lock lapsed while that worker still trained it) leaves the record as it is and
 * reports the recorded result, marked as recorded before.
 */
export async function complete(
  job: GroupJob,
  result: Record<string, unknown>,
  channel: Pick<GroupChannel, 'send'>,
): Promise<void> {
  const record: DoneRecord = { job: job.id, result };
  if (await createFileOnce(doneFile(job.recipe), `${JSON.stringify(record)}\n`)) {
    channel.send({ type: 'done', id: job.id, result });
    return;
  }
  const earlier = await readDone(job);
  if (earlier !== null) channel.send({ type: 'done', id: job.id, result: earlier.result, recordedBefore: true });
  else
    channel.send({
      type: 'failed',
      id: job.id,
      message: `${doneFile(job.recipe)} records the completion of another job; give this job an output folder of its own`,
    });
}

/** Reports each step and turns a cancellation into a stop at the step's end. */
function stepHook(
  id: string,
  channel: GroupChannel,
  onCancel: (control: TrainerControl) => void,
): (state: TrainerState, control: TrainerControl) => Promise<void> {
  return async (state, control) => {
    channel.send({
      type: 'progress',
      id,
      progress: { step: state.globalStep, maxSteps: state.maxSteps, loss: lastLoss(state) },
    });
    // Lets the worker's messages (a cancellation, its death) in between steps.
    await new Promise((done) => setTimeout(done, channel.stepDelay ?? 0));
    if (channel.cancelled(id)) onCancel(control);
  };
}

function lastLoss(state: TrainerState): number | undefined {
  for (let i = state.logHistory.length - 1; i >= 0; i--) {
    const loss = state.logHistory[i]!.loss;
    if (typeof loss === 'number') return loss;
  }
  return undefined;
}

/** A `peft train` progress that reports to the worker instead of a terminal. */
class WorkerProgress extends Progress {
  constructor(
    readonly id: string,
    private readonly channel: GroupChannel,
  ) {
    super('json', discard);
  }

  stopped = false;

  override onStep(state: TrainerState, control?: TrainerControl): Promise<void> {
    return stepHook(this.id, this.channel, (c) => {
      this.stopped = true;
      c.shouldStop = true;
    })(state, control ?? { shouldStop: false });
  }
}

async function trainAlone(job: GroupJob, channel: GroupChannel): Promise<void> {
  const progress = new WorkerProgress(job.id, channel);
  const resume = (await latestCheckpoint(job.recipe.output)) !== null;
  const result = await trainRecipe(job.recipe, job.recipePath, { progress, resume });
  if (progress.stopped) channel.send({ type: 'cancelled', id: job.id, step: Number(result.step) });
  else await complete(job, result, channel);
}

/** The job as one entry of a concurrent run (named after its queue id). */
function asJobRecipe(job: GroupJob): JobRecipe {
  const { recipe } = job;
  return {
    name: `job-${job.id}`,
    method: recipe.method,
    data: recipe.data,
    training: recipe.training,
    output: recipe.output,
  };
}

async function trainTogether(jobs: readonly GroupJob[], channel: GroupChannel, admitted: GroupJob[]): Promise<void> {
  const first = jobs[0]!.recipe;
  const recipe: MultiRecipe = {
    model: first.model,
    quantization: first.quantization,
    training: { gradient_checkpointing: trainsWithCheckpointing(first) },
    jobs: jobs.map(asJobRecipe) as MultiRecipe['jobs'],
    output: first.output,
  };
  const byName = new Map(jobs.map((job) => [`job-${job.id}`, job]));
  const options = {
    overrides: [],
    overwrite: false,
    resume: true,
    board: new ProgressBoard('json', discard),
    jobCallbacks: (name: string): TrainerCallback[] => [
      { onStep: stepHook(byName.get(name)!.id, channel, () => trainer.cancelJob(name)) },
    ],
  };
  const run = await openRun(recipe, options, () => {});
  const runs = new Map<string, JobRun>();
  for (const job of recipe.jobs) runs.set(job.name, await openJob(run, job));
  const trainer = new MultiTrainer({ model: run.model, jobs: [...runs.values()].map((r) => r.spec), gradientCheckpointing: trainsWithCheckpointing(first) });
  // Jobs the worker took meanwhile (same base) join at the next step, as a job file joins `peft train`'s run.
  const join = async (job: GroupJob) => {
    if (!(await admit(job, channel))) return;
    const name = `job-${job.id}`;
    try {
      byName.set(name, job);
      const opened = await openJob(run, asJobRecipe(job));
      trainer.addJob(opened.spec);
      runs.set(name, opened);
      admitted.push(job);
      channel.send({ type: 'joined', id: job.id });
    } catch (error) {
      channel.send({ type: 'failed', id: job.id, message: (error as Error).message });
    }
  };
  const started = performance.now();
  // Each job is finished (adapter, report, done record) and reported as soon as it ends, while the
  // group's longer jobs train on: the queue sees it completed then, not at the group's end.
  const ended = async (name: string, result: JobResult) => {
    const job = byName.get(name)!;
    try {
      if (result.status === 'failed') throw result.error!;
      const summary = await finishJob(run, runs.get(name)!, result, trainer, started);
      if (result.status === 'cancelled') channel.send({ type: 'cancelled', id: job.id, step: result.globalStep });
      else await complete(job, summary, channel);
    } catch (error) {
      channel.send({ type: 'failed', id: job.id, message: (error as Error).message });
    }
  };
  await trainer.train({
    resume: true,
    beforeStep: async () => {
      for (const job of channel.joining()) await join(job);
    },
    onJobEnd: ended,
  });
}

/** False when the job completed before (reported done); else true, having said whether it resumes. */
async function admit(job: GroupJob, channel: GroupChannel): Promise<boolean> {
  const done = await readDone(job);
  if (done !== null) {
    channel.send({ type: 'done', id: job.id, result: done.result, recordedBefore: true });
    return false;
  }
  const checkpoint = await latestCheckpoint(job.recipe.output);
  if (checkpoint !== null) channel.send({ type: 'resuming', id: job.id, checkpoint });
  return true;
}

/**
 * Trains the group; a job that fails is reported failed, the others go on where they can. Jobs on a
 * base that can be shared train as a concurrent run (even one alone), so that jobs queued meanwhile
 * can join it (channel.joining); a job that cannot share its base trains as `peft train` runs it.
 */
export async function trainGroup(jobs: readonly GroupJob[], channel: GroupChannel): Promise<void> {
  const admitted: GroupJob[] = [];
  for (const job of jobs) if (await admit(job, channel)) admitted.push(job);
  try {
    if (admitted.length === 0) return;
    if (sharedBaseKey(admitted[0]!.recipe) === null) await trainAlone(admitted[0]!, channel);
    else await trainTogether([...admitted], channel, admitted);
  } catch (error) {
    // A job that already ended was reported; the worker ignores a second word on it.
    for (const job of admitted) channel.send({ type: 'failed', id: job.id, message: (error as Error).message });
  }
}
