// Typed errors of training: bad arguments, a loss or gradient that is no longer finite, and
// checkpoints that cannot be read back.
import { PeftError } from '../tensor/index.js';

/** A training argument, optimizer option or schedule that cannot work; the message names it and the fix. */
export class TrainingArgumentError extends PeftError {
  constructor(message: string) {
    super('E_TRAIN_ARGS', message);
  }
}

/**
 * The loss (or the gradients' norm) became NaN or Inf. The step was not applied; `lastCheckpoint`
 * is the newest checkpoint written before it (null when none was), which the run left in place.
 */
export class NonFiniteLossError extends PeftError {
  constructor(
    readonly what: 'loss' | 'gradient norm',
    readonly value: number,
    readonly step: number,
    readonly lastCheckpoint: string | null,
  ) {
    super(
      'E_NON_FINITE',
      `the ${what} is ${value} at step ${step}; training stopped before applying it. ` +
        (lastCheckpoint === null ? 'No checkpoint had been written yet. ' : `The last good checkpoint is ${lastCheckpoint}. `) +
        'Lower the learning rate, set maxGradNorm, or check the data of this step, then resume.',
    );
  }
}

/** A checkpoint folder that is missing, incomplete, or was written for another model or optimizer. */
export class CheckpointError extends PeftError {
  constructor(message: string) {
    super('E_CHECKPOINT', message);
  }
}
