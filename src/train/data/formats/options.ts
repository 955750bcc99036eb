// How rows become examples: the format, its column names, lengths and what to do with a bad row.

export type DataFormat = 'text' | 'instruction' | 'chat' | 'classification' | 'seq2seq';
export const DATA_FORMATS: readonly DataFormat[] = ['text', 'instruction', 'chat', 'classification', 'seq2seq'];

export interface FieldNames {
  /** text and classification: default 'text'. */
  text?: string;
  /** classification: the second text of a pair (none by default). */
  textPair?: string;
  /** classification: default 'label'. */
  label?: string;
  /** instruction: defaults 'prompt' and 'response'. */
  prompt?: string;
  response?: string;
  /** chat: default 'messages' (a list of { role, content }). */
  messages?: string;
  /** seq2seq: defaults 'source' and 'target'. */
  source?: string;
  target?: string;
}

export interface DataOptions {
  format: DataFormat;
  fields?: FieldNames;
  /** Longest example in tokens (longer ones are cut at the end); the block length when packing. */
  maxLength?: number;
  /** text: concatenate rows (each followed by EOS) and cut into blocks of maxLength. Default true. */
  packing?: boolean;
  /** classification: label names in id order (default: the model's id2label, else the data's names sorted). */
  labelNames?: readonly string[];
  /** A row that cannot be used: stop with an error naming it (default) or skip it with a warning. */
  onBadRow?: 'error' | 'skip';
}

export function fieldName(options: DataOptions, key: keyof FieldNames, fallback: string): string {
  return options.fields?.[key] ?? fallback;
}
