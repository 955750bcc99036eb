// MultiTrainer: several fine-tuning jobs on one frozen base, trained together (concurrent PEFT
// tuning, as mLoRA/ASPEN). Each step, every running job's micro-batch joins one batch through the
// base (one GEMM per base layer for all jobs), each job's adapter acts on its own rows, and each
// job's loss (normalised by its own tokens) and gradients stay its own. Everything else of a job
// is a TrainingJob's, the same code a Trainer runs: its optimizer, schedule, clipping,
// accumulation, data order, random stream, logging, evaluation and checkpoints. So a job's adapter
// is the one training it alone gives (up to the base kernels' summation order over more rows).
//
// Jobs end on their own (a finished job leaves the batch), can be cancelled or added while the
// run goes on, and a job that fails (a NaN loss, a batch the model refuses) stops alone.
import { Generator, copyInto, tidy, withGenerator, zerosLike } from '../../tensor/index.js';
import type { ConfigInput } from '../../peft/index.js';
import { forwardBase, type MultiAdapterModel } from '../../peft/concurrent/index.js';
import { DEFAULT_SEED, type TrainingArguments } from '../arguments.js';
import type { Batch, BatchSource } from '../batches.js';
import type { TrainerCallback } from '../callbacks.js';
import { latestCheckpoint } from '../checkpoints.js';
import { TrainingArgumentError } from '../errors.js';
import { TrainingJob, type TrainResult } from '../job.js';
import { enableGradientCheckpointing } from '../memory.js';
import { AdapterJobModel } from './job-model.js';
import { activeBaseDropout } from './base-dropout.js';

export interface JobSpec {
  /** The job's name, which is also its adapter's name in the shared model. */
  name: string;
  /** The adapter to add (initialised from args.seed, as getPeftModel after manualSeed(seed)); leave out when the model has adapter `name` already. */
  config?: ConfigInput;
  trainDataset: BatchSource<Batch>;
  evalDataset?: BatchSource<Batch>;
  args?: TrainingArguments;
  callbacks?: TrainerCallback[];
}

export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobResult extends TrainResult {
  status: Exclude<JobStatus, 'running'>;
  /** Why a failed job stopped. */
  error?: Error;
  /** False when the job was cancelled before it began in this run (nothing of it was written). */
  started: boolean;
}

export interface MultiTrainerOptions {
  model: MultiAdapterModel;
  jobs: readonly JobSpec[];
  /**
   * Gradient checkpointing of the shared base's layers (a property of the run, not of a job):
   * only each layer's input is kept for backward, the layer is recomputed there with the rows'
   * routing and each job's random stream as in forward. Less memory, more compute; same adapters.
   */
  gradientCheckpointing?: boolean;
}

export interface MultiTrainOptions {
  /** Continue every job from the newest checkpoint in its outputDir (jobs without one start afresh). */
  resume?: boolean;
  /** Called before each step (and before the first): the place to add and cancel jobs from outside. */
  beforeStep?: () => void | Promise<void>;
  /** Called once for each job as soon as it ends (done, failed or cancelled), before the run goes on. */
  onJobEnd?: (name: string, result: JobResult) => void | Promise<void>;
}

/** A job and where it stands. */
interface Entry {
  name: string;
  job: TrainingJob;
  status: JobStatus;
  started: boolean;
  error?: Error;
  result?: JobResult;
}

export class MultiTrainer {
  private readonly model: MultiAdapterModel;
  private readonly entries = new Map<string, Entry>();
  private readonly cancelled = new Set<string>();
  /** Jobs whose end onJobEnd was told. */
  private readonly reported = new Set<string>();
  private resume = false;

  constructor({ model, jobs, gradientCheckpointing = false }: MultiTrainerOptions) {
    this.model = model;
    if (jobs.length === 0) throw new TrainingArgumentError('MultiTrainer needs at least one job');
    const dropout = activeBaseDropout(model.model);
    if (dropout.length > 0) {
      throw new TrainingArgumentError(
        `the base model's own dropout is active (${dropout.slice(0, 3).join(', ')}${dropout.length > 3 ? `, ${dropout.length - 3} more` : ''}): ` +
          'jobs sharing one forward cannot each draw it from their own random stream, so no job would end where it ends alone; ' +
          'set it to 0 (GPT-2: attn_pdrop, resid_pdrop and embd_pdrop in config.json; Llama-family: attention_dropout) or train the jobs one at a time',
      );
    }
    const names = jobs.map((j) => j.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0) throw new TrainingArgumentError(`job names must differ; ${[...new Set(twice)].map((n) => `'${n}'`).join(', ')} appear more than once`);
    jobs.forEach((spec, i) => {
      const dir = spec.args?.outputDir;
      const other = jobs.slice(0, i).find((o) => dir !== undefined && o.args?.outputDir === dir);
      if (other !== undefined) throw new TrainingArgumentError(`job '${spec.name}': its outputDir ${dir} is job '${other.name}'s too; give each job its own`);
      this.checkSpec(spec);
    });
    for (const spec of jobs) this.addJob(spec);
    if (gradientCheckpointing) enableGradientCheckpointing(model.model);
  }

  /** Refusals that name the job, before anything runs. */
  private checkSpec(spec: JobSpec): void {
    const refuse = (why: string) => {
      throw new TrainingArgumentError(`job '${spec.name}': ${why}`);
    };
    if (this.entries.has(spec.name)) refuse('a job of this name is in the run already; pick another name');
    const args = spec.args ?? {};
    if (args.frozenDtype !== undefined) refuse('frozenDtype casts the base the jobs share; cast the model before building the run');
    if (args.gradientCheckpointing) refuse('gradientCheckpointing is a property of the shared base; set it for the whole run (the MultiTrainer option gradientCheckpointing)');
    const dir = args.outputDir;
    const other = [...this.entries.values()].find((e) => dir !== undefined && e.job.args.outputDir === dir);
    if (other !== undefined) refuse(`its outputDir ${dir} is job '${other.name}'s too; give each job its own`);
    if (spec.config === undefined && !this.model.adapterNames.includes(spec.name)) refuse(`the model has no adapter '${spec.name}'; give the job a config`);
    if (spec.config !== undefined) this.model.checkAdapter(spec.name, spec.config);
  }

  /** Adds a job; while a run goes on, it joins at the next step. */
  addJob(spec: JobSpec): void {
    this.checkSpec(spec);
    if (spec.config !== undefined) {
      // The adapter starts from the job's seed, as getPeftModel after manualSeed(seed) would start it alone.
      const seed = spec.args?.seed ?? DEFAULT_SEED;
      withGenerator(new Generator(seed), () => this.model.addAdapter(spec.name, spec.config!));
    }
    const job = new TrainingJob({
      model: new AdapterJobModel(this.model, spec.name), trainDataset: spec.trainDataset, evalDataset: spec.evalDataset, args: spec.args, callbacks: spec.callbacks,
    });
    this.entries.set(spec.name, { name: spec.name, job, status: 'running', started: false });
  }

  /** Stops job `name` at the next step (a last checkpoint is written when it saves checkpoints). */
  cancelJob(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new TrainingArgumentError(`no job named '${name}'; the jobs are ${[...this.entries.keys()].join(', ')}`);
    if (entry.status === 'running') this.cancelled.add(name);
  }

  /** Each job's status. */
  statuses(): Map<string, JobStatus> {
    return new Map([...this.entries].map(([name, e]) => [name, e.status]));
  }

  /** The job named `name` (its state, optimizer, arguments). */
  job(name: string): TrainingJob {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new TrainingArgumentError(`no job named '${name}'`);
    return entry.job;
  }

  /** Trains every job to its end; jobs added meanwhile too. Returns each job's result. */
  async train({ resume = false, beforeStep, onJobEnd }: MultiTrainOptions = {}): Promise<Map<string, JobResult>> {
    this.resume = resume;
    for (;;) {
      await beforeStep?.();
      await this.endCancelled();
      const step: { entry: Entry; batch: Batch }[] = [];
      for (const entry of this.running()) {
        try {
          if (!entry.started) await this.start(entry);
          const batch = await entry.job.nextBatch();
          if (batch === null) await this.end(entry, 'done');
          else step.push({ entry, batch });
        } catch (error) {
          this.fail(entry, error);
        }
      }
      // Every end so far (this round's, and a failure while recording the last step) is told before the next step.
      await this.reportEnded(onJobEnd);
      if (step.length === 0) {
        if (this.running().length === 0) break;
        continue;
      }
      const losses = this.runStep(step);
      for (const [i, { entry, batch }] of step.entries()) {
        const loss = losses[i]!;
        if (loss instanceof Error) {
          this.fail(entry, loss);
          continue;
        }
        try {
          await entry.job.recordBatch(loss, batch);
        } catch (error) {
          this.fail(entry, error);
        }
      }
    }
    return new Map([...this.entries].map(([name, e]) => [name, e.result!]));
  }

  private async reportEnded(onJobEnd: MultiTrainOptions['onJobEnd']): Promise<void> {
    for (const entry of this.entries.values()) {
      if (entry.status === 'running' || this.reported.has(entry.name)) continue;
      this.reported.add(entry.name);
      await onJobEnd?.(entry.name, entry.result!);
    }
  }

  private running(): Entry[] {
    return [...this.entries.values()].filter((e) => e.status === 'running');
  }

  private async start(entry: Entry): Promise<void> {
    const dir = entry.job.args.outputDir;
    const from = this.resume && dir !== undefined && (await latestCheckpoint(dir)) !== null ? true : undefined;
    entry.started = true;
    await entry.job.begin(from);
  }

  private async endCancelled(): Promise<void> {
    for (const name of this.cancelled) {
      const entry = this.entries.get(name)!;
      if (entry.status === 'running') await this.end(entry, 'cancelled');
    }
    this.cancelled.clear();
  }

  private async end(entry: Entry, status: 'done' | 'cancelled'): Promise<void> {
    entry.job.optimizer.zeroGrad();
    entry.status = status;
    if (!entry.started) {
      // Cancelled before its first step in this run: nothing of it to write.
      entry.result = { globalStep: entry.job.state.globalStep, trainLoss: NaN, lastCheckpoint: null, status, started: false };
      return;
    }
    try {
      entry.result = { ...(await entry.job.finish()), status, started: true };
    } catch (error) {
      this.fail(entry, error);
    }
  }

  private fail(entry: Entry, error: unknown): void {
    entry.job.optimizer.zeroGrad();
    entry.status = 'failed';
    entry.error = error instanceof Error ? error : new Error(String(error));
    const { globalStep } = entry.job.state;
    entry.result = { globalStep, trainLoss: NaN, lastCheckpoint: null, status: 'failed', error: entry.error, started: entry.started };
  }

  /**
   * One forward of every job's batch through the base, and one backward of the sum of their
   * losses (each scaled for its job's accumulation; a job's parameters get gradients from its
   * own loss only). Returns each job's unscaled loss, or why its batch failed. When the joint
   * batch fails, each job's batch runs again on its own, so the jobs that can go on do.
   */
  private runStep(step: readonly { entry: Entry; batch: Batch }[]): (number | Error)[] {
    const saved = step.map(({ entry }) => entry.job.generator.getState());
    try {
      return this.jointStep(step);
    } catch (error) {
      if (step.length === 1) return [error instanceof Error ? error : new Error(String(error))];
      step.forEach(({ entry }, i) => entry.job.generator.setState(saved[i]!));
      return step.map((one) => this.runStep([one])[0]!);
    }
  }

  /**
   * The base's forward runs once for every batch; then each job's head, loss and the head's
   * backward run one job at a time (its logits, the step's largest tensors, are freed before the
   * next job's exist), each leaving the gradient of its rows of the hidden states in one joint
   * gradient; one backward through the base takes it. The values are those of one backward of
   * the summed losses: each hidden row's gradient comes from its own job's loss only.
   */
  private jointStep(step: readonly { entry: Entry; batch: Batch }[]): (number | Error)[] {
    const generators = new Map(step.map(({ entry }) => [entry.name, entry.job.generator]));
    return tidy(() => {
      const joint = forwardBase(this.model, step.map(({ entry, batch }) => ({ adapter: entry.name, batch })), generators);
      const hiddenGrad = zerosLike(joint.hidden);
      let backward = false;
      const head = ({ entry: { job } }: (typeof step)[number], i: number): number | Error =>
        tidy(() => {
          const own = joint.rows(i).detach().requiresGrad_();
          const { loss } = joint.head(i, own);
          if (loss === undefined) return new TrainingArgumentError('the batch has no labels: training batches need them');
          const value = loss.item();
          try {
            job.checkLoss(value);
          } catch (error) {
            return error as Error;
          }
          const accumulation = job.args.gradientAccumulationSteps;
          (accumulation > 1 ? loss.div(accumulation) : loss).backward();
          copyInto(joint.rows(i, hiddenGrad), own.grad!);
          own.grad!.dispose();
          backward = true;
          return value;
        });
      // Largest logits first: a smaller job's then fit the buffers the larger one released (storage.ts).
      const losses = new Array<number | Error>(step.length);
      const sizes = step.map((_, i) => {
        const rows = joint.rows(i);
        rows.dispose();
        return rows.size;
      });
      const bySize = step.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]!);
      for (const i of bySize) losses[i] = head(step[i]!, i);
      if (backward) joint.hidden.backward(hiddenGrad);
      return losses;
    });
  }
}
