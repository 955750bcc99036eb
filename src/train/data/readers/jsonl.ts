// JSON Lines: one JSON object per line; blank lines are allowed and skipped.
import { isRecord, type ReadResult } from './row.js';

export function readJsonl(file: string, text: string): ReadResult {
  const result: ReadResult = { rows: [], unreadable: [] };
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${file}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      result.unreadable.push({ where, reason: `not valid JSON (${(error as Error).message})` });
      return;
    }
    if (isRecord(value)) result.rows.push({ values: value, where });
    else result.unreadable.push({ where, reason: `a JSON object was expected, not ${JSON.stringify(value).slice(0, 40)}` });
  });
  return result;
}
