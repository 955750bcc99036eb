// What every reader yields: a record of named values and where it came from.

export interface DataRow {
  /** Column name → value (JSON values; Parquet int64 columns as bigint). */
  values: Record<string, unknown>;
  /** `file:line` for JSONL and CSV, `file#row` (1-based) for Parquet: what a bad-row report names. */
  where: string;
}

/** A row the reader itself could not parse (malformed JSON, a CSV record with the wrong column count). */
export interface UnreadableRow {
  where: string;
  reason: string;
}

export interface ReadResult {
  rows: DataRow[];
  unreadable: UnreadableRow[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
