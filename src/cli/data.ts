// The recipe's data section → datasets of batches for the Trainer.
import type { PreTrainedTokenizer } from '../io/index.js';
import { ExampleDataset, loadDataset, tokenizerFingerprint, type DataFormat, type LoadedDataset } from '../train/data/index.js';
import type { Recipe } from './recipe/schema.js';
import { UsageError } from './exit-codes.js';

export interface RunData {
  train: ExampleDataset;
  eval?: ExampleDataset;
  labelNames?: string[];
}

export async function openDataset(
  path: string,
  data: Recipe['data'],
  tokenizer: PreTrainedTokenizer,
  modelDir: string,
  warn: (m: string) => void,
  labelNames?: readonly string[],
): Promise<LoadedDataset> {
  return loadDataset(path, tokenizer, {
    format: data.format as DataFormat,
    fields: data.fields && {
      text: data.fields.text, textPair: data.fields.text_pair, label: data.fields.label, prompt: data.fields.prompt,
      response: data.fields.response, messages: data.fields.messages, source: data.fields.source, target: data.fields.target,
    },
    maxLength: data.max_length,
    packing: data.packing,
    labelNames: labelNames ?? data.label_names,
    onBadRow: data.on_bad_row,
    tokenizerKey: await tokenizerFingerprint(modelDir),
    cacheDir: data.cache_dir,
    logger: { warn },
  });
}

export async function openRunData(recipe: Recipe, tokenizer: PreTrainedTokenizer, warn: (m: string) => void): Promise<RunData> {
  const padTokenId = tokenizer.padTokenId ?? tokenizer.eosTokenId;
  if (padTokenId === null) throw new UsageError(`the tokenizer of ${recipe.model} has neither a pad nor an EOS token to pad batches with`);
  const collateOptions = { padTokenId, paddingSide: recipe.data.padding_side ?? 'right' } as const;
  const train = await openDataset(recipe.data.train, recipe.data, tokenizer, recipe.model, warn);
  const evalData = recipe.data.eval === undefined ? undefined : await openDataset(recipe.data.eval, recipe.data, tokenizer, recipe.model, warn, train.labelNames);
  return {
    train: new ExampleDataset(train.examples, collateOptions),
    eval: evalData && new ExampleDataset(evalData.examples, collateOptions),
    labelNames: train.labelNames,
  };
}
