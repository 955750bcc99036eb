// Typed errors of data-parallel runs: MPI missing or failing, a collective that never completes.
import { PeftError } from '../../tensor/index.js';

export class DistributedError extends PeftError {
  constructor(message: string) {
    super('E_DISTRIBUTED', message);
  }
}
