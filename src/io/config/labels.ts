// A config's classification labels replaced at load time, as HF's from_pretrained(dir,
// num_labels=..., id2label=...) does: the head is then built for the new labels.
import { ValueError } from '../../tensor/errors.js';
import { defaultId2Label, type BaseConfig } from './base.js';

export interface LabelOptions {
  /** Number of classes (labels named LABEL_0, LABEL_1, ...); replaces config.json's num_labels. */
  numLabels?: number;
  /** Class index to label name; replaces config.json's id2label (and sets num_labels to its size). */
  id2label?: Record<number, string>;
}

/** `config` with its labels replaced by the options' (the config itself where they set none). */
export function withLabels<C extends BaseConfig>(config: C, { numLabels, id2label }: LabelOptions): C {
  if (numLabels === undefined && id2label === undefined) return config;
  if (numLabels !== undefined && (!Number.isInteger(numLabels) || numLabels < 1)) {
    throw new ValueError(`numLabels must be a positive integer, not ${numLabels}`);
  }
  const labels = id2label ?? defaultId2Label(numLabels!);
  const count = Object.keys(labels).length;
  if (numLabels !== undefined && count !== numLabels) {
    throw new ValueError(`numLabels is ${numLabels} but id2label names ${count} labels; pass one of them, or make them agree`);
  }
  checkIndices(labels, count);
  return {
    ...config,
    id2label: labels,
    label2id: Object.fromEntries(Object.entries(labels).map(([id, label]) => [label, Number(id)])),
    num_labels: count,
  };
}

/** A head has one output per class index, so id2label must name 0 .. count-1. */
function checkIndices(id2label: Record<number, string>, count: number): void {
  const keys = Object.keys(id2label);
  if (count === 0 || keys.some((k) => !/^(0|[1-9][0-9]*)$/.test(k) || Number(k) >= count)) {
    throw new ValueError(`id2label must map the class indices 0 .. n-1 to label names, not ${JSON.stringify(id2label)}`);
  }
}
