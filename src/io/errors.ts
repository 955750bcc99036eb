// Typed errors of the file layer: each names the file and, where there is one, the tensor or field.
import { PeftError } from '../tensor/errors.js';

/** A safetensors file (or sharded index) that is malformed, or a tensor it does not hold. */
export class SafetensorsError extends PeftError {
  constructor(
    /** The file at fault. */
    readonly path: string,
    message: string,
    /** The tensor at fault, where there is one. */
    readonly tensor?: string,
  ) {
    super('E_SAFETENSORS', `${path}: ${tensor === undefined ? '' : `tensor '${tensor}': `}${message}`);
  }
}

/** A config.json field of the wrong type or value, or a config.json that is not a JSON object. */
export class ConfigError extends PeftError {
  constructor(
    readonly path: string,
    /** What is wrong, without the file and field (`must be an integer >= 1; it is "eight" (string)`). */
    readonly detail: string,
    /** The field at fault (dotted for nested fields: `rope_parameters.factor`). */
    readonly field?: string,
  ) {
    super('E_CONFIG', `${path}: ${field === undefined ? '' : `field '${field}' `}${detail}`);
  }
}

/** A config.json whose architecture peftjs does not implement. */
export class UnknownArchitectureError extends PeftError {
  constructor(
    readonly path: string,
    /** What the config asked for (its model_type or architectures[0]). */
    readonly requested: string,
    /** The model_type values peftjs supports. */
    readonly supported: readonly string[],
  ) {
    super(
      'E_UNKNOWN_ARCHITECTURE',
      `${path}: '${requested}' is not a supported architecture; peftjs supports model_type ${supported.join(', ')}`,
    );
  }
}

/** Files that should exist and do not. */
export class MissingFileError extends PeftError {
  constructor(
    readonly paths: readonly string[],
    why = '',
  ) {
    super(
      'E_MISSING_FILE',
      `${paths.length === 1 ? 'file not found' : 'files not found'}: ${paths.join(', ')}${why ? ` (${why})` : ''}`,
    );
  }
}
