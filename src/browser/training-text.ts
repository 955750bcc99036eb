// Training rows from a dropped file: plain text, or JSONL whose lines hold a "text" field (any other
// line object contributes its string fields joined by newlines). The token stream is cut into rows of
// a fixed length, as transformers' run_clm example groups texts.
import { PeftError } from '../tensor/errors.js';

/** The documents of `text` (JSONL lines or the whole text). */
export function documents(
  text: string,
  format: 'text' | 'jsonl' = text.trimStart().startsWith('{') ? 'jsonl' : 'text',
): string[] {
  if (format === 'text') return [text];
  return text
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line !== '')
    .map(([line, lineNumber]) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new PeftError(
          'E_VALUE',
          `JSONL line ${lineNumber} is not JSON (${(error as Error).message}); give one JSON object per line, or plain text`,
        );
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new PeftError('E_VALUE', `JSONL line ${lineNumber} must be a JSON object like {"text": "..."}`);
      }
      const record = value as Record<string, unknown>;
      if (typeof record.text === 'string') return record.text;
      return Object.values(record)
        .filter((v): v is string => typeof v === 'string')
        .join('\n');
    });
}

/** Consecutive rows of `length` tokens from the documents' tokens, each document ended by `eos` when there is one. */
export function tokenRows(tokenized: number[][], length: number, eos: number | null): number[][] {
  const stream = tokenized.flatMap((ids) => (eos === null ? ids : [...ids, eos]));
  const rows: number[][] = [];
  for (let start = 0; start + length <= stream.length; start += length) rows.push(stream.slice(start, start + length));
  if (rows.length === 0) {
    throw new PeftError(
      'E_VALUE',
      `the training text has ${stream.length} tokens, fewer than one row of ${length}; give more text or a shorter sequence length`,
    );
  }
  return rows;
}
