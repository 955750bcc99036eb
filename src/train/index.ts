// Training: optimizers, schedules, clipping, memory options, the Trainer, metrics, checkpoints.
export * from './optim/index.js';
export { LRScheduler, scheduleFactor, SCHEDULES, type ScheduleName, type ScheduleOptions, type SchedulerState } from './schedule.js';
export { clipGradNorm } from './clip.js';
export { enableGradientCheckpointing, castFrozenParameters } from './memory.js';
export { Trainer, type TrainerOptions, type TrainOptions, type TrainResult } from './trainer.js';
export { TrainingJob, type TrainingJobOptions } from './job.js';
export { MultiTrainer, type JobSpec, type JobResult, type JobStatus, type MultiTrainerOptions, type MultiTrainOptions } from './concurrent/multi-trainer.js';
export { AdapterJobModel } from './concurrent/job-model.js';
export { resolveArguments, DEFAULT_SEED, type TrainingArguments } from './arguments.js';
export { EarlyStopping, type EarlyStoppingOptions, type TrainerCallback, type TrainerControl, type TrainerState, type LogRecord } from './callbacks.js';
export { evaluateModel, type TrainableModel } from './evaluate.js';
export { accuracy, f1Binary, f1Macro, f1ForClass, perplexity, classificationMetrics } from './metrics.js';
export { writeCheckpoint, readCheckpoint, listCheckpoints, latestCheckpoint, rotateCheckpoints } from './checkpoints.js';
export { batchCount, epochOrder, type Batch, type BatchSource, type IndexedBatches } from './batches.js';
export { TrainingArgumentError, NonFiniteLossError, CheckpointError } from './errors.js';
export * from './data/index.js';
export { prepareModelForKbitTraining, type KbitTrainingOptions } from './kbit.js';
export * from './distributed/index.js';
