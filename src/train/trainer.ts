// The Trainer: the training loop around a model with a loss (a PeftModel, or any module whose
// forward(batch) returns { loss, logits }). Gradient accumulation, clipping, schedules, seeded
// shuffling, logging, evaluation, early stopping, callbacks, and checkpoints that resume to the
// same bits as a run that was never interrupted: all of it is the TrainingJob's (job.ts); the
// Trainer runs each batch's forward and backward.
import { tidy } from '../tensor/index.js';
import type { ResolvedArguments } from './arguments.js';
import type { Batch, BatchSource } from './batches.js';
import type { TrainerState } from './callbacks.js';
import { isEmptyShard } from './distributed/shard.js';
import { TrainingArgumentError } from './errors.js';
import type { TrainableModel } from './evaluate.js';
import { TrainingJob, type TrainingJobOptions, type TrainResult } from './job.js';
import type { Optimizer } from './optim/index.js';
import type { LRScheduler } from './schedule.js';

export type TrainerOptions = TrainingJobOptions;
export type { TrainResult } from './job.js';

export interface TrainOptions {
  /** A checkpoint folder to continue from, or true for the newest one in outputDir. */
  resumeFromCheckpoint?: string | true;
}

export class Trainer {
  private readonly job: TrainingJob;

  constructor(private readonly options: TrainerOptions) {
    this.job = new TrainingJob(options);
  }

  get args(): ResolvedArguments {
    return this.job.args;
  }

  get model(): TrainableModel {
    return this.job.model;
  }

  get optimizer(): Optimizer {
    return this.job.optimizer;
  }

  get scheduler(): LRScheduler {
    return this.job.scheduler;
  }

  get state(): TrainerState {
    return this.job.state;
  }

  /** Trains to maxSteps (or until a callback stops the run). */
  async train({ resumeFromCheckpoint }: TrainOptions = {}): Promise<TrainResult> {
    const { job } = this;
    await job.begin(resumeFromCheckpoint);
    // Data parallel: every rank starts from rank 0's adapter (a resumed run reads the same checkpoint on every rank).
    await this.options.dataParallel?.broadcastParameters(job.trainable);
    for (let batch = await job.nextBatch(); batch !== null; batch = await job.nextBatch()) {
      await job.recordBatch(job.withRandom(() => this.microStep(batch!)), batch);
    }
    return job.finish();
  }

  /**
   * Forward and backward of one batch (loss scaled for accumulation); returns the unscaled loss.
   * A data-parallel rank scales both by its share of the job batch's loss items (and a rank whose
   * shard of a short last batch is empty computes nothing).
   */
  private microStep(batch: Batch): number {
    const accumulation = this.job.args.gradientAccumulationSteps;
    const parallel = this.options.dataParallel;
    const share = parallel?.share(batch) ?? 1;
    if (parallel !== undefined && isEmptyShard(batch)) return 0;
    return tidy(() => {
      const out = this.job.model.forward(batch);
      if (out.loss === undefined) throw new TrainingArgumentError('the model returned no loss: training batches need labels');
      const loss = out.loss.item();
      this.job.checkLoss(loss);
      const weighted = share !== 1 ? out.loss.mul(share) : out.loss;
      (accumulation > 1 ? weighted.div(accumulation) : weighted).backward();
      return share * loss;
    });
  }

  /** Runs the evaluation loop on evalDataset (or `data`). */
  async evaluate(data?: BatchSource<Batch>): Promise<Record<string, number>> {
    return this.job.evaluate(data);
  }
}
