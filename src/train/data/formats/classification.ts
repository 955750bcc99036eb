// Sequence classification: a text (and optional pair) and a label, given as a name or a class id.
import type { PreTrainedTokenizer } from '../../../io/tokenizer/index.js';
import { RowProblem, stringField } from './fields.js';
import { fieldName, type DataOptions } from './options.js';

export interface LabelledText {
  inputIds: number[];
  tokenTypeIds?: number[];
  /** A name, or a class id (numbers and digit strings). */
  label: string | number;
}

export function classificationRow(values: Record<string, unknown>, tokenizer: PreTrainedTokenizer, options: DataOptions): LabelledText {
  const text = stringField(values, fieldName(options, 'text', 'text'));
  const pairName = options.fields?.textPair;
  const textPair = pairName === undefined ? undefined : stringField(values, pairName);
  const encoded = tokenizer.call(text, { textPair, truncation: options.maxLength !== undefined, maxLength: options.maxLength });
  return { inputIds: encoded.inputIds, tokenTypeIds: encoded.tokenTypeIds, label: readLabel(values, fieldName(options, 'label', 'label')) };
}

function readLabel(values: Record<string, unknown>, name: string): string | number {
  const value = values[name];
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && value !== '') return /^\d+$/.test(value) ? Number(value) : value;
  throw new RowProblem(`'${name}' must be a label name or a class id (an integer from 0), not ${JSON.stringify(value) ?? 'missing'}`);
}

/** The label names in id order: given ones, else the names the data uses, sorted (ids stay ids). */
export function labelNamesOf(rows: readonly LabelledText[], given: readonly string[] | undefined): string[] | undefined {
  if (given !== undefined) return [...given];
  const names = [...new Set(rows.map((r) => r.label).filter((l): l is string => typeof l === 'string'))].sort();
  return names.length > 0 ? names : undefined;
}

/** The class id of a row's label; a name not in `labelNames` or an id past them is the row's problem. */
export function classId(label: string | number, labelNames: readonly string[] | undefined): number {
  if (typeof label === 'number') {
    if (labelNames !== undefined && label >= labelNames.length) {
      throw new RowProblem(`class id ${label} is past the ${labelNames.length} labels (${labelNames.join(', ')})`);
    }
    return label;
  }
  const id = labelNames?.indexOf(label) ?? -1;
  if (id < 0) throw new RowProblem(`label '${label}' is not one of the label names ${JSON.stringify(labelNames ?? [])}; add it to data.label_names or fix the row`);
  return id;
}
