// Typed errors of the data pipeline: each names the file (and line or row) at fault and the fix.
import { PeftError } from '../../tensor/errors.js';

/** A data file or folder that cannot be read, or options that do not fit the data. */
export class DataError extends PeftError {
  constructor(message: string) {
    super('E_DATA', message);
  }
}

/** A row that cannot become an example: `where` is `file:line` (text files) or `file#row` (Parquet). */
export class BadRowError extends PeftError {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super('E_BAD_ROW', `${where}: ${reason}; fix the row, or pass onBadRow: 'skip' (recipe data.on_bad_row: skip) to leave such rows out`);
  }
}
