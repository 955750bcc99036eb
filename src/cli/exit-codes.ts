// The `peft` command's exit codes (README: "The peft command"). Scripts can branch on them.
import { PeftError } from '../tensor/errors.js';

export const EXIT = {
  /** Done. */
  OK: 0,
  /** A bug or an error peftjs did not expect: the message and stack are printed. */
  INTERNAL: 1,
  /** The command line or the recipe is wrong (unknown key, wrong type, missing field). */
  USAGE: 2,
  /** An input cannot be used: data with bad rows, a model folder without weights, an output folder that exists. */
  INPUT: 3,
  /** Training stopped: a NaN/Inf loss, or a checkpoint that cannot be resumed. The last good checkpoint is kept. */
  TRAINING: 4,
  /** Writing failed (disk full, no permission); files written before are intact. */
  IO: 5,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

/** The usage errors the CLI itself throws (bad flags, bad recipe). */
export class UsageError extends PeftError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** An input the CLI refuses (an output folder that exists, a folder without weights). */
export class InputError extends PeftError {
  constructor(message: string) {
    super('E_INPUT', message);
  }
}

const USAGE_CODES = new Set(['E_USAGE', 'E_RECIPE', 'E_PEFT_CONFIG', 'E_TARGET_MODULES', 'E_TRAIN_ARGS', 'E_VALUE']);
const TRAINING_CODES = new Set(['E_NON_FINITE', 'E_CHECKPOINT']);
const IO_CODES = new Set(['ENOSPC', 'EACCES', 'EROFS', 'EDQUOT', 'EIO']);

export function exitCodeOf(error: unknown): number {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return EXIT.INTERNAL;
  if (IO_CODES.has(code)) return EXIT.IO;
  if (USAGE_CODES.has(code) || code.startsWith('commander.')) return EXIT.USAGE;
  if (TRAINING_CODES.has(code)) return EXIT.TRAINING;
  return error instanceof PeftError || code === 'ENOENT' ? EXIT.INPUT : EXIT.INTERNAL;
}
