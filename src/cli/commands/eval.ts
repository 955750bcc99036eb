// peft eval: a model folder (and an adapter) on a data file: loss, perplexity, accuracy/F1.
import { PeftModel } from '../../peft/index.js';
import { evaluateModel, type Batch, type IndexedBatches, type TrainableModel } from '../../train/index.js';
import { ExampleDataset, type DataFormat } from '../../train/data/index.js';
import { openDataset } from '../data.js';
import { UsageError } from '../exit-codes.js';
import { openModel, openTokenizer, taskOf } from '../model-folder.js';
import { dataSchema } from '../recipe/schema.js';

export interface EvalOptions {
  model: string;
  adapter?: string;
  data: string;
  format: string;
  maxLength?: number;
  batchSize: number;
  labelNames?: string[];
  cacheDir?: string;
  warn: (m: string) => void;
}

export async function evalCommand(o: EvalOptions): Promise<Record<string, number>> {
  const data = dataSchema.safeParse({ train: o.data, format: o.format, max_length: o.maxLength, label_names: o.labelNames, cache_dir: o.cacheDir });
  if (!data.success) throw new UsageError(`peft eval: ${data.error.issues.map((i) => `--${String(i.path[0]).replace('_', '-')}: ${i.message}`).join('; ')}`);
  const tokenizer = await openTokenizer(o.model);
  const loaded = await openDataset(o.data, data.data, tokenizer, o.model, o.warn);
  const task = taskOf(o.format as DataFormat);
  const labels = loaded.labelNames ? { id2label: Object.fromEntries(loaded.labelNames.map((n, i) => [i, n])) } : {};
  const base = await openModel(o.model, task, labels, o.warn);
  const model = o.adapter === undefined ? base : await PeftModel.fromPretrained(base, o.adapter);
  const dataset = new ExampleDataset(loaded.examples, { padTokenId: tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0 });
  return evaluateModel(model as TrainableModel, dataset.batches(o.batchSize) as IndexedBatches<Batch>);
}
