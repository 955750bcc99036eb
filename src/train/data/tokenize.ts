// Rows → examples in the chosen format. A row a format cannot use (and a row its reader could not
// parse) is a bad row: fatal by default, or skipped and listed when onBadRow is 'skip'.
import { TokenizerError, type PreTrainedTokenizer } from '../../io/tokenizer/index.js';
import { BadRowError } from './errors.js';
import type { Example } from './example.js';
import { chatExample } from './formats/chat.js';
import { classId, classificationRow, labelNamesOf, type LabelledText } from './formats/classification.js';
import { RowProblem } from './formats/fields.js';
import { instructionExample } from './formats/instruction.js';
import type { DataOptions } from './formats/options.js';
import { seq2seqExample } from './formats/seq2seq.js';
import { textExamples, textIds } from './formats/text.js';
import type { DataRow, UnreadableRow } from './readers/row.js';

export interface TokenizedData {
  examples: Example[];
  /** classification: the label names in id order, where the labels were names. */
  labelNames?: string[];
  /** The bad rows left out (empty unless onBadRow is 'skip'). */
  skipped: UnreadableRow[];
}

export function tokenizeRows(
  rows: readonly DataRow[],
  unreadable: readonly UnreadableRow[],
  tokenizer: PreTrainedTokenizer,
  options: DataOptions,
): TokenizedData {
  const skipped: UnreadableRow[] = [];
  const bad = (row: UnreadableRow) => {
    if ((options.onBadRow ?? 'error') === 'error') throw new BadRowError(row.where, row.reason);
    skipped.push(row);
  };
  unreadable.forEach(bad);
  const result = toExamples(rows, tokenizer, options, bad);
  // Bad rows in file order, whichever step found them.
  skipped.sort((a, b) => a.where.localeCompare(b.where, 'en', { numeric: true }));
  return { ...result, skipped };
}

function toExamples(
  rows: readonly DataRow[],
  tokenizer: PreTrainedTokenizer,
  options: DataOptions,
  bad: (row: UnreadableRow) => void,
): Omit<TokenizedData, 'skipped'> {
  /** Applies `convert` to each row, setting bad rows aside. */
  const each = <T>(items: readonly { where: string }[], convert: (index: number) => T): T[] =>
    items.flatMap((item, index) => {
      try {
        return [convert(index)];
      } catch (error) {
        if (!(error instanceof RowProblem) && !(error instanceof TokenizerError && error.code === 'E_CHAT_TEMPLATE')) throw error;
        bad({ where: item.where, reason: error.message });
        return [];
      }
    });
  switch (options.format) {
    case 'text':
      return { examples: textExamples(each(rows, (i) => textIds(rows[i]!.values, tokenizer, options)), options) };
    case 'instruction':
      return { examples: each(rows, (i) => instructionExample(rows[i]!.values, tokenizer, options)) };
    case 'chat':
      return { examples: each(rows, (i) => chatExample(rows[i]!.values, tokenizer, options)) };
    case 'seq2seq':
      return { examples: each(rows, (i) => seq2seqExample(rows[i]!.values, tokenizer, options)) };
    case 'classification': {
      const labelled = each(rows, (i) => ({ ...classificationRow(rows[i]!.values, tokenizer, options), where: rows[i]!.where }));
      const labelNames = labelNamesOf(labelled, options.labelNames);
      const examples = each(labelled, (i): Example => {
        const row: LabelledText = labelled[i]!;
        return { inputIds: row.inputIds, tokenTypeIds: row.tokenTypeIds, labels: classId(row.label, labelNames) };
      });
      return { examples, labelNames };
    }
  }
}
