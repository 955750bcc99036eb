// One training run's state and bookkeeping, whatever computes its forwards and backwards: the
// optimizer, schedule and clipping, the data order and position, gradient accumulation, its own
// random stream (dropout), logging, evaluation, callbacks, and checkpoints that resume to the same
// bits. Trainer drives one job with its model's forward; MultiTrainer drives several through one
// shared base, each exactly as a Trainer would.
import { Generator, withGenerator, type Tensor } from '../tensor/index.js';
import { resolveArguments, type ResolvedArguments, type TrainingArguments } from './arguments.js';
import { batchCount, epochBatches, type Batch, type BatchSource } from './batches.js';
import { EarlyStopping, type LogRecord, type TrainerCallback, type TrainerControl, type TrainerState } from './callbacks.js';
import { latestCheckpoint, readCheckpoint, rotateCheckpoints, writeCheckpoint } from './checkpoints.js';
import { clipGradNorm } from './clip.js';
import { CheckpointError, NonFiniteLossError, TrainingArgumentError } from './errors.js';
import { evaluateModel, type TrainableModel } from './evaluate.js';
import type { DataParallel } from './distributed/data-parallel.js';
import { castFrozenParameters, enableGradientCheckpointing } from './memory.js';
import { AdamW, SGD, parameterGroups, type Optimizer } from './optim/index.js';
import { LRScheduler, type SchedulerState } from './schedule.js';

export interface TrainingJobOptions {
  /** What checkpoints save and evaluation runs: a model with a loss (a PeftModel, or one job's view of a shared base). */
  model: TrainableModel;
  trainDataset: BatchSource<Batch>;
  evalDataset?: BatchSource<Batch>;
  args?: TrainingArguments;
  callbacks?: TrainerCallback[];
  /** Replaces the optimizer the arguments describe. */
  optimizer?: Optimizer;
  /** One rank of a data-parallel job: gradients summed over the ranks before each step; only rank 0 writes. */
  dataParallel?: DataParallel;
  /**
   * Examples in one (job) batch, saved in checkpoints: a run resumed with another batch (another
   * number of ranks) goes on from the same number of examples into the epoch.
   */
  examplesPerBatch?: number;
}

export interface TrainResult {
  globalStep: number;
  /** Mean loss over every optimizer step of this call. */
  trainLoss: number;
  /** The newest checkpoint written, if any. */
  lastCheckpoint: string | null;
}

/** The running sums of one train() call: the accumulating batches' losses and the logging window. */
interface RunProgress {
  micro: number[];
  tokens: number;
  lossSum: number;
  steps: number;
  window: { loss: number; steps: number; tokens: number; gradNorm: number; start: number };
}

function newWindow(): RunProgress['window'] {
  return { loss: 0, steps: 0, tokens: 0, gradNorm: NaN, start: performance.now() };
}

function newProgress(): RunProgress {
  return { micro: [], tokens: 0, lossSum: 0, steps: 0, window: newWindow() };
}

/** Where the run is in its data: the epoch, and the batches of it already consumed. */
interface Position {
  epoch: number;
  index: number;
}

export class TrainingJob {
  readonly args: ResolvedArguments;
  readonly model: TrainableModel;
  readonly optimizer: Optimizer;
  readonly scheduler: LRScheduler;
  readonly state: TrainerState;
  /** The job's random stream (dropout): seeded with args.seed, saved in checkpoints. */
  readonly generator: Generator;
  readonly trainable: Tensor[];
  private readonly callbacks: TrainerCallback[];
  private readonly batchesPerEpoch: number | undefined;
  private position: Position = { epoch: 0, index: 0 };
  /** The position of the batch nextBatch() handed out last (in the data order). */
  private pending: Position = { epoch: 0, index: 0 };
  private lastCheckpoint: string | null = null;
  private control: TrainerControl = { shouldStop: false };
  private run: RunProgress = newProgress();
  private batches: AsyncIterator<[number, Batch]> | null = null;
  private finished = false;

  constructor(private readonly options: TrainingJobOptions) {
    const args = (this.args = resolveArguments(options.args ?? {}, options.evalDataset !== undefined));
    this.model = options.model;
    if (args.frozenDtype !== undefined) castFrozenParameters(this.model, args.frozenDtype);
    if (args.gradientCheckpointing) enableGradientCheckpointing(this.model);
    this.trainable = this.model.parameters().filter((p) => p.requiresGrad);
    this.optimizer = options.optimizer ?? this.buildOptimizer();
    this.batchesPerEpoch = batchCount(options.trainDataset);
    if (this.batchesPerEpoch === 0) throw new TrainingArgumentError('the training data has no batch');
    const maxSteps = args.maxSteps ?? (this.batchesPerEpoch === undefined ? undefined : Math.ceil(this.batchesPerEpoch / args.gradientAccumulationSteps) * args.epochs);
    if (maxSteps === undefined) throw new TrainingArgumentError('the training data has no length (an iterable); set maxSteps');
    const warmupSteps = args.warmupSteps ?? Math.ceil(args.warmupRatio * maxSteps);
    this.scheduler = new LRScheduler(this.optimizer, args.lrScheduler, { warmupSteps, totalSteps: maxSteps });
    this.state = { globalStep: 0, epoch: 0, maxSteps, logHistory: [] };
    this.callbacks = [...(options.callbacks ?? []), ...(args.earlyStopping ? [new EarlyStopping(args.earlyStopping)] : [])];
    this.generator = new Generator(args.seed);
  }

  private buildOptimizer(): Optimizer {
    const { lr, weightDecay, loraplusLrRatio, loraplusLrEmbedding } = this.args;
    const groups = parameterGroups(this.model, { lr, weightDecay, loraplusLrRatio, loraplusLrEmbedding });
    return this.args.optimizer === 'sgd'
      ? new SGD(groups, { lr, momentum: this.args.momentum, nesterov: this.args.nesterov })
      : new AdamW(groups, { lr, betas: this.args.adamBetas, eps: this.args.adamEpsilon });
  }

  /** True once the job has taken its last step (or a callback stopped it). */
  get done(): boolean {
    return this.finished;
  }

  /** Starts (or, from a checkpoint folder or true for the newest one in outputDir, resumes) the run. */
  async begin(resumeFromCheckpoint?: string | true): Promise<void> {
    this.generator.manualSeed(this.args.seed);
    if (resumeFromCheckpoint !== undefined) await this.resume(resumeFromCheckpoint);
    this.control = { shouldStop: false };
    this.run = newProgress();
    this.model.train();
    await this.emit('onTrainBegin', []);
    this.finished = this.state.globalStep >= this.state.maxSteps;
  }

  /** Runs `fn` (the job's forward and backward) drawing random numbers from the job's stream. */
  withRandom<T>(fn: () => T): T {
    return withGenerator(this.generator, fn);
  }

  /**
   * The next micro-batch, or null when the job is done. The end of an epoch takes its step with the
   * batches it has (fewer than the accumulation count, as HF does) and evaluates per epoch.
   */
  async nextBatch(): Promise<Batch | null> {
    const { args } = this;
    const epochs = args.maxSteps !== undefined ? Infinity : args.epochs;
    while (!this.finished) {
      const { epoch } = this.position;
      this.batches ??= epochBatches(this.options.trainDataset, epoch, this.position.index, args)[Symbol.asyncIterator]();
      const next = await this.batches.next();
      if (!next.done) {
        this.pending = { epoch, index: next.value[0] + 1 };
        return next.value[1];
      }
      this.batches = null;
      if (this.run.micro.length > 0 && (await this.completeStep())) {
        this.finished = true;
        break;
      }
      if (args.evalStrategy === 'epoch') await this.evaluateAndReport();
      this.position = { epoch: epoch + 1, index: 0 };
      this.finished = this.position.epoch >= epochs || this.control.shouldStop;
    }
    return null;
  }

  /** Records the (unscaled) loss of the batch nextBatch gave, after its backward; steps when the accumulation is complete. */
  async recordBatch(loss: number, batch: Batch): Promise<void> {
    this.run.micro.push(loss);
    this.run.tokens += (batch.inputIds ?? batch.labels)?.size ?? 0;
    this.position = this.pending;
    if (this.run.micro.length === this.args.gradientAccumulationSteps && (await this.completeStep())) {
      this.finished = true;
      await this.batches?.return?.(undefined);
      this.batches = null;
    }
  }

  /** Throws NonFiniteLossError (the gradients zeroed) for a NaN or infinite loss. */
  checkLoss(loss: number): void {
    // Data parallel: checked on the ranks' summed loss at the step, so that every rank stops together.
    if (this.options.dataParallel === undefined && !Number.isFinite(loss)) this.stopNonFinite('loss', loss);
  }

  /** Ends the run: a last checkpoint when saving is on, then onTrainEnd. */
  async finish(): Promise<TrainResult> {
    const { args, state, run } = this;
    if (args.saveSteps !== undefined && this.lastCheckpoint !== this.checkpointPath()) await this.save();
    await this.emit('onTrainEnd', []);
    return { globalStep: state.globalStep, trainLoss: run.lossSum / Math.max(1, run.steps), lastCheckpoint: this.lastCheckpoint };
  }

  /** The optimizer step after the accumulated batches, then logging, evaluation and saving; true when the run ends. */
  private async completeStep(): Promise<boolean> {
    const { args, state, run, control } = this;
    let lossSum = run.micro.reduce((s, l) => s + l, 0);
    const parallel = this.options.dataParallel;
    if (parallel !== undefined) {
      // Each rank's micro losses are its shares of the job batch's: their sum over ranks is the job's.
      [lossSum, run.tokens] = (await parallel.reduce(this.trainable, [lossSum, run.tokens])) as [number, number];
      if (!Number.isFinite(lossSum)) this.stopNonFinite('loss', lossSum / run.micro.length);
    }
    const gradNorm = this.optimizerStep();
    const loss = lossSum / run.micro.length;
    run.micro = [];
    state.globalStep++;
    state.epoch = this.position.epoch + (this.batchesPerEpoch === undefined ? 0 : this.position.index / this.batchesPerEpoch);
    run.lossSum += loss;
    run.steps++;
    const w = run.window;
    w.loss += loss;
    w.steps++;
    w.tokens += run.tokens;
    w.gradNorm = gradNorm;
    run.tokens = 0;
    await this.emit('onStep', []);
    const done = state.globalStep >= state.maxSteps;
    if (state.globalStep % args.loggingSteps === 0 || done) {
      const seconds = (performance.now() - w.start) / 1000;
      const record: LogRecord = {
        step: state.globalStep, epoch: state.epoch, loss: w.loss / w.steps, learningRate: this.optimizer.paramGroups[0]!.lr,
        ...(args.maxGradNorm > 0 ? { gradNorm: w.gradNorm } : {}), tokensPerSecond: w.tokens / seconds,
      };
      state.logHistory.push(record);
      await this.emit('onLog', [record]);
      run.window = newWindow();
    }
    if (args.evalStrategy === 'steps' && state.globalStep % args.evalSteps! === 0) await this.evaluateAndReport();
    if (done || control.shouldStop) return true;
    if (args.saveSteps !== undefined && state.globalStep % args.saveSteps === 0) await this.save();
    return false;
  }

  /** Clipping, the optimizer and the schedule; returns the gradients' norm before clipping (NaN when off). */
  private optimizerStep(): number {
    let gradNorm = NaN;
    if (this.args.maxGradNorm > 0) {
      gradNorm = clipGradNorm(this.trainable, this.args.maxGradNorm);
      if (!Number.isFinite(gradNorm)) this.stopNonFinite('gradient norm', gradNorm);
    }
    this.optimizer.step();
    this.scheduler.step();
    // Methods that adapt while training (AdaLoRA's rank allocation) need the gradients: before zeroGrad.
    (this.model as { afterOptimizerStep?(step: number): void }).afterOptimizerStep?.(this.state.globalStep);
    this.optimizer.zeroGrad();
    return gradNorm;
  }

  private stopNonFinite(what: 'loss' | 'gradient norm', value: number): never {
    this.optimizer.zeroGrad();
    throw new NonFiniteLossError(what, value, this.state.globalStep + 1, this.lastCheckpoint);
  }

  /** Runs the evaluation loop on evalDataset (or `data`). */
  async evaluate(data: BatchSource<Batch> | undefined = this.options.evalDataset): Promise<Record<string, number>> {
    if (data === undefined) throw new TrainingArgumentError('evaluate() needs data: pass it, or give the Trainer an evalDataset');
    return evaluateModel(this.model, data);
  }

  private async evaluateAndReport(): Promise<void> {
    const metrics = await this.evaluate();
    this.state.logHistory.push({ step: this.state.globalStep, epoch: this.state.epoch, ...metrics });
    await this.emit('onEvaluate', [metrics]);
  }

  private checkpointPath(): string {
    return `${this.args.outputDir}/checkpoint-${this.state.globalStep}`;
  }

  private async save(): Promise<void> {
    if (this.options.dataParallel?.writes === false) {
      this.lastCheckpoint = this.checkpointPath(); // rank 0 writes it
      return;
    }
    const dir = await writeCheckpoint(this.args.outputDir!, this.model, this.optimizer, {
      globalStep: this.state.globalStep,
      epoch: this.state.epoch,
      position: this.position,
      examplesPerBatch: this.options.examplesPerBatch ?? null,
      rng: this.generator.getState().map((v) => (Number.isNaN(v) ? null : v)),
      scheduler: this.scheduler.stateDict(),
      logHistory: this.state.logHistory,
      callbacks: this.callbacks.map((c) => c.stateDict?.() ?? null),
    });
    this.lastCheckpoint = dir;
    if (this.args.saveTotalLimit !== undefined) await rotateCheckpoints(this.args.outputDir!, this.args.saveTotalLimit);
    await this.emit('onSave', [dir]);
  }

  private async resume(from: string | true): Promise<void> {
    const dir = from === true ? await latestCheckpoint(this.args.outputDir ?? '.') : from;
    if (dir === null) throw new CheckpointError(`resumeFromCheckpoint: no checkpoint-<step> folder in ${this.args.outputDir}`);
    const json = await readCheckpoint(dir, this.model, this.optimizer);
    this.scheduler.loadStateDict(json.scheduler as SchedulerState);
    this.generator.setState((json.rng as (number | null)[]).map((v) => v ?? NaN));
    this.position = this.positionFor(json.position as Position, json.examplesPerBatch as number | null | undefined);
    this.state.globalStep = json.globalStep;
    this.state.epoch = json.epoch as number;
    this.state.logHistory = json.logHistory as Record<string, number>[];
    (json.callbacks as unknown[]).forEach((s, i) => s !== null && this.callbacks[i]?.loadStateDict?.(s));
    this.lastCheckpoint = dir;
  }

  /** A saved data position in this run's batches: the same examples into the epoch when the batch size changed. */
  private positionFor(saved: Position, savedExamplesPerBatch: number | null | undefined): Position {
    const now = this.options.examplesPerBatch;
    if (now === undefined || savedExamplesPerBatch == null || savedExamplesPerBatch === now) return saved;
    return { epoch: saved.epoch, index: Math.floor((saved.index * savedExamplesPerBatch) / now) };
  }

  private async emit<K extends 'onTrainBegin' | 'onStep' | 'onLog' | 'onEvaluate' | 'onSave' | 'onTrainEnd'>(hook: K, args: unknown[]): Promise<void> {
    for (const callback of this.callbacks) {
      const fn = callback[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (fn !== undefined) await fn.call(callback, ...args, this.state, this.control);
    }
  }
}
