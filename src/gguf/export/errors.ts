// Typed errors of writing GGUF files for llama.cpp.
import { PeftError } from '../../tensor/errors.js';

/** A model or adapter that cannot be written as GGUF as asked; the message names the fix. */
export class GgufExportError extends PeftError {
  constructor(message: string) {
    super('E_GGUF_EXPORT', message);
  }
}
