// peft train recipe.yaml: model folder + method + data → a trained adapter, checkpoints,
// metrics.jsonl and report.html in the output folder.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getPeftModel } from '../../peft/index.js';
import { Generator, withGenerator } from '../../tensor/index.js';
import {
  DEFAULT_SEED, Trainer, prepareModelForKbitTraining, type Batch, type IndexedBatches, type LogRecord, type TrainerCallback, type TrainerState, type TrainingArguments, type TrainResult,
} from '../../train/index.js';
import { DataParallel, lossItemCounter, rankShards, type Communicator } from '../../train/distributed/index.js';
import { openRunData } from '../data.js';
import { InputError } from '../exit-codes.js';
import { openModel, openTokenizer, peftTaskType, taskOf } from '../model-folder.js';
import { Progress } from '../progress.js';
import { detectLaunch } from '../../train/distributed/index.js';
import { trainParallel } from './train-parallel.js';
import { loadRecipe, methodConfig, type Overrides } from '../recipe/load.js';
import type { Recipe, TrainingFields } from '../recipe/schema.js';
import { MetricsLog } from '../report/metrics-log.js';
import { REPORT_FILE, writeReport } from '../report/html.js';

export const ADAPTER_DIR = 'adapter';

export interface TrainCommandOptions {
  overrides: Overrides;
  overwrite: boolean;
  resume: boolean;
  progress: Progress;
  /** Milliseconds to wait after each step: lets tests interrupt a run of a tiny model mid-way. */
  stepDelay?: number;
  /** The ranks of a data-parallel run (train-parallel.ts); none: one process. */
  communicator?: Communicator;
}

export function trainingArguments(t: TrainingFields, outputDir: string): TrainingArguments {
  return {
    outputDir, epochs: t.epochs, maxSteps: t.max_steps, lr: t.lr, weightDecay: t.weight_decay, optimizer: t.optimizer, momentum: t.momentum,
    lrScheduler: t.lr_scheduler, warmupSteps: t.warmup_steps, warmupRatio: t.warmup_ratio, maxGradNorm: t.max_grad_norm,
    gradientAccumulationSteps: t.gradient_accumulation_steps, gradientCheckpointing: t.gradient_checkpointing, seed: t.seed, shuffle: t.shuffle,
    loggingSteps: t.logging_steps, evalStrategy: t.eval_strategy, evalSteps: t.eval_steps, saveSteps: t.save_steps,
    saveTotalLimit: t.save_total_limit, loraplusLrRatio: t.loraplus_lr_ratio,
    earlyStopping: t.early_stopping_patience === undefined ? undefined : { patience: t.early_stopping_patience },
  };
}

/** An existing, non-empty output folder is refused unless --overwrite (cleared) or --resume (continued). */
export async function prepareOutput(dir: string, { overwrite, resume }: { overwrite: boolean; resume: boolean }): Promise<void> {
  const present = await stat(dir).then((s) => s.isDirectory(), () => null);
  if (present === false) throw new InputError(`output ${dir} exists and is not a folder`);
  const used = present === true && (await readdir(dir)).length > 0;
  if (resume) {
    if (!used) throw new InputError(`--resume: output folder ${dir} has no run to resume; start the run without --resume`);
    return;
  }
  if (used && !overwrite) {
    throw new InputError(`output folder ${dir} exists and is not empty; pass --overwrite to replace it, --resume to continue its run, or choose another output`);
  }
  if (used) await rm(dir, { recursive: true });
  await mkdir(dir, { recursive: true });
}

export async function trainCommand(recipePath: string, options: TrainCommandOptions): Promise<Record<string, unknown> | null> {
  const recipe: Recipe = await loadRecipe(recipePath, options.overrides);
  if (detectLaunch().size > 1) return trainParallel(recipe, recipePath, options);
  await prepareOutput(recipe.output, options);
  return trainRecipe(recipe, recipePath, options);
}

/**
 * The run of a loaded recipe whose output folder is ready (empty, or holding the run to resume).
 * A data-parallel rank other than 0 writes nothing and returns its rank, step and loss.
 */
export async function trainRecipe(recipe: Recipe, recipePath: string, options: Omit<TrainCommandOptions, 'overrides' | 'overwrite'>): Promise<Record<string, unknown>> {
  const { progress } = options;
  const warn = (message: string) => progress.event('warning', { message }, `warning: ${message}`);
  const tokenizer = await openTokenizer(recipe.model);
  const data = await openRunData(recipe, tokenizer, warn);
  const task = taskOf(recipe.data.format as never);
  const labels = data.labelNames ? { id2label: Object.fromEntries(data.labelNames.map((n, i) => [i, n])) } : {};
  const quantization = quantizationOptions(recipe.quantization);
  const model = await openModel(recipe.model, task, { ...labels, quantization }, warn);
  // QLoRA recipes prepare the quantised base as HF's prepare_model_for_kbit_training.
  if (quantization) prepareModelForKbitTraining(model, { useGradientCheckpointing: recipe.training.gradient_checkpointing ?? true });
  // The adapter starts from the run's seed (as a concurrent run's job does), so a recipe gives the same run every time.
  const seed = recipe.training.seed ?? DEFAULT_SEED;
  const peft = withGenerator(new Generator(seed), () => getPeftModel(model, methodConfig(recipe.method, peftTaskType(task), recipePath)));
  const { trainable, total } = peft.trainableParameters();
  progress.event('model', { trainable, total }, `trainable params: ${trainable} || all params: ${total} || trainable%: ${((100 * trainable) / total).toFixed(4)}`);

  const t = recipe.training;
  const log = new MetricsLog(recipe.output);
  const batchSize = t.batch_size ?? 8;
  // Data parallel: batch_size is per rank; each rank takes its shard of the job's batch.
  const comm = options.communicator;
  const parallel = comm !== undefined && comm.size > 1 ? new DataParallel(comm) : undefined;
  const trainDataset = parallel
    ? rankShards(data.train, { batchSize, rank: comm!.rank, size: comm!.size, countItems: lossItemCounter(peft) })
    : (data.train.batches(batchSize) as IndexedBatches<Batch>);
  const trainer = new Trainer({
    model: peft,
    trainDataset,
    evalDataset: data.eval?.batches(t.eval_batch_size ?? batchSize) as IndexedBatches<Batch> | undefined,
    args: trainingArguments(t, recipe.output),
    callbacks: parallel?.writes === false ? [] : [metricsRecorder(log, options.stepDelay), progress],
    dataParallel: parallel,
    examplesPerBatch: batchSize * (comm?.size ?? 1),
  });
  const started = performance.now();
  const result = await trainer.train({ resumeFromCheckpoint: options.resume ? true : undefined });
  if (parallel?.writes === false) return { rank: comm!.rank, step: result.globalStep, trainLoss: result.trainLoss };
  return finishRun({
    output: recipe.output, title: `peft train: ${recipe.method.peft_type} on ${recipe.model}`, config: recipe, log, result, state: trainer.state,
    parameters: { trainable, total }, started, evaluate: data.eval === undefined ? undefined : () => trainer.evaluate(), save: (dir) => peft.savePretrained(dir),
  });
}

/** The recipe's quantization section as model-loading options. */
export function quantizationOptions(q: Recipe['quantization']) {
  return q && { bits: q.bits, type: q.type, doubleQuant: q.double_quant, blockSize: q.block_size, computeDtype: q.compute_dtype, skipModules: q.skip_modules };
}

/** Keeps metrics.jsonl as the run goes (started afresh from a resumed checkpoint's history). `stepDelay`: see TrainCommandOptions. */
export function metricsRecorder(log: MetricsLog, stepDelay?: number): TrainerCallback {
  return {
    onTrainBegin: (state) => log.reset(state.logHistory),
    onLog: (record: LogRecord) => log.append(record),
    onEvaluate: (metrics, state) => log.append({ step: state.globalStep, epoch: state.epoch, ...metrics }),
    onStep: stepDelay ? () => new Promise((done) => setTimeout(done, stepDelay)) : undefined,
  };
}

export interface FinishedRun {
  output: string;
  title: string;
  config: unknown;
  log: MetricsLog;
  result: TrainResult;
  state: TrainerState;
  parameters: { trainable: number; total: number };
  /** performance.now() when training started. */
  started: number;
  /** The final evaluation, when the run has evaluation data. */
  evaluate?: () => Promise<Record<string, number>>;
  /** Writes the adapter into a folder. */
  save: (dir: string) => Promise<void>;
}

/** After training: the final evaluation (logged), the adapter in <output>/adapter, report.html; returns the run's summary. */
export async function finishRun(run: FinishedRun): Promise<Record<string, unknown>> {
  const { result, state, log, parameters: { trainable, total } } = run;
  const summary: Record<string, unknown> = { step: result.globalStep, trainLoss: result.trainLoss };
  if (run.evaluate !== undefined) {
    const metrics = await run.evaluate();
    const record = { step: result.globalStep, epoch: state.epoch, ...metrics };
    state.logHistory.push(record);
    await log.append(record);
    Object.assign(summary, metrics);
  }
  const adapterDir = join(run.output, ADAPTER_DIR);
  await run.save(adapterDir);
  const seconds = (performance.now() - run.started) / 1000;
  await writeReport(join(run.output, REPORT_FILE), {
    title: run.title,
    records: state.logHistory,
    config: run.config,
    summary: {
      'trainable parameters': `${trainable} of ${total} (${((100 * trainable) / total).toFixed(3)}%)`, steps: `${state.globalStep} of ${state.maxSteps}`,
      seconds: seconds.toFixed(1), 'final train loss': result.trainLoss.toFixed(4),
    },
  });
  return { ...summary, adapter: adapterDir, report: join(run.output, REPORT_FILE), metrics: log.path, seconds };
}
