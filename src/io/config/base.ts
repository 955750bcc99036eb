// Fields every Hugging Face config shares (PretrainedConfig): token ids, tied embeddings, labels.
import type { Fields, Json } from './fields.js';

export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

export interface BaseConfig {
  /** config.json exactly as read (fields the typed config leaves out are here). */
  readonly raw: Json;
  /** Model classes the checkpoint was saved from (`LlamaForCausalLM`, ...); may be empty. */
  architectures: string[];
  tie_word_embeddings: boolean;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  /** Class index to label name; from `num_labels` (default 2) as LABEL_i where config.json has none. */
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  /** The number of entries of id2label. */
  num_labels: number;
  problem_type: ProblemType | null;
  /** The dtype the weights were saved in (`dtype`, or `torch_dtype` in transformers 4). */
  dtype: string | null;
}

/** The defaults a family's config class passes to PretrainedConfig. */
export interface BaseDefaults {
  tie_word_embeddings: boolean;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export function readBase(f: Fields, defaults: BaseDefaults): BaseConfig {
  const id2label = readId2Label(f);
  return {
    raw: f.raw,
    architectures: f.strings('architectures', []),
    tie_word_embeddings: f.bool('tie_word_embeddings', defaults.tie_word_embeddings),
    pad_token_id: f.nullableInt('pad_token_id', defaults.pad_token_id),
    bos_token_id: f.nullableInt('bos_token_id', defaults.bos_token_id),
    eos_token_id: f.tokenIds('eos_token_id', defaults.eos_token_id),
    id2label,
    label2id: readLabel2Id(f, id2label),
    num_labels: Object.keys(id2label).length,
    problem_type: f.has('problem_type')
      ? f.oneOf<ProblemType>(
          'problem_type',
          ['regression', 'single_label_classification', 'multi_label_classification'],
          'regression',
        )
      : null,
    dtype: f.nullableString('dtype', f.nullableString('torch_dtype', null)),
  };
}

/** As HF: id2label wins over num_labels; without either there are 2 labels. */
function readId2Label(f: Fields): Record<number, string> {
  const given = f.object('id2label');
  if (given === undefined) {
    return defaultId2Label(f.int('num_labels', 2, 0));
  }
  const out: Record<number, string> = {};
  for (const [key, label] of Object.entries(given.raw)) {
    if (!/^(0|[1-9][0-9]*)$/.test(key)) given.fail(key, 'keyed by a class index (a non-negative integer)', key);
    if (typeof label !== 'string') given.fail(key, 'a label name (a string)', label);
    out[Number(key)] = label as string;
  }
  return out;
}

/** HF's names for labels config.json does not name: LABEL_0, LABEL_1, ... */
export function defaultId2Label(count: number): Record<number, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [i, `LABEL_${i}`]));
}

function readLabel2Id(f: Fields, id2label: Record<number, string>): Record<string, number> {
  const given = f.object('label2id');
  if (given === undefined) {
    return Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)]));
  }
  return Object.fromEntries(Object.keys(given.raw).map((label) => [label, given.int(label, 0, 0)]));
}
