// CSV with a header row (csv-parse). A record whose column count differs from the header's is an
// unreadable row at its line; a quoting error ends the file there (nothing after it can be trusted).
import { parse } from 'csv-parse/sync';
import { DataError } from '../errors.js';
import type { ReadResult } from './row.js';

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

export function readCsv(file: string, text: string): ReadResult {
  let records: ParsedRecord[];
  try {
    records = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as ParsedRecord[];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new DataError(`${file}${line === undefined ? '' : `:${line}`}: not valid CSV (${(error as Error).message}); check the quoting there`);
  }
  const result: ReadResult = { rows: [], unreadable: [] };
  const [header, ...body] = records;
  if (header === undefined) return result;
  const names = header.record;
  for (const { record, info } of body) {
    const where = `${file}:${info.lines}`;
    if (record.length !== names.length) {
      result.unreadable.push({ where, reason: `${record.length} fields where the header has ${names.length} (${names.join(', ')})` });
      continue;
    }
    result.rows.push({ values: Object.fromEntries(names.map((name, i) => [name, record[i]])), where });
  }
  return result;
}
