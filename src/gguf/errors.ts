// Typed errors of the GGUF layer: each names the file and, where there is one, the tensor or key.
import { PeftError } from '../tensor/errors.js';

/** A GGUF file that is malformed, hostile, or asks for something peftjs cannot read or write. */
export class GgufFormatError extends PeftError {
  constructor(
    /** The file at fault. */
    readonly path: string,
    message: string,
    /** The tensor or metadata key at fault, where there is one. */
    readonly subject?: string,
  ) {
    super('E_GGUF_FORMAT', `${path}: ${subject === undefined ? '' : `'${subject}': `}${message}`);
  }
}
