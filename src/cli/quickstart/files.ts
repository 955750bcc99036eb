// What the quickstart writes before it trains: the mails as classification data files, and the
// recipe `peft train` runs, so the user can rerun it, change it, or point it at their own model.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../../io/atomic.js';
import { optionsToJson } from '../../peft/config/keys.js';
import type { MethodContext, MethodSpec } from '../../quickstart/methods.js';
import type { Mail } from '../../quickstart/corpus.js';
import type { QuickstartSettings } from '../../quickstart/settings.js';

export const LABEL_NAMES = ['ham', 'spam'] as const;
export const TRAIN_FILE = join('data', 'train.jsonl');
export const TEST_FILE = join('data', 'test.jsonl');
export const RECIPE_FILE = 'recipe.yaml';

/** One {"text", "label"} line per mail, the label by name ('ham', 'spam'). */
async function writeMails(path: string, mails: readonly Mail[]): Promise<void> {
  await writeFileAtomic(path, mails.map((m) => `${JSON.stringify({ text: m.text, label: LABEL_NAMES[m.label] })}\n`).join(''));
}

export async function writeData(output: string, train: readonly Mail[], test: readonly Mail[]): Promise<void> {
  await mkdir(join(output, 'data'), { recursive: true });
  await writeMails(join(output, TRAIN_FILE), train);
  await writeMails(join(output, TEST_FILE), test);
}

/** The recipe's fields (paths relative to the output folder, where the recipe lies). */
export function recipeFields(modelDir: string, method: MethodSpec, settings: QuickstartSettings): Record<string, unknown> {
  const context: MethodContext = { totalSteps: settings.maxSteps ?? Math.ceil(settings.train / settings.batchSize) * settings.epochs, virtualTokens: settings.virtualTokens };
  const { peftType, ...options } = method.options!(context);
  return {
    model: modelDir,
    method: { peft_type: peftType, ...optionsToJson(options) },
    data: { train: TRAIN_FILE, eval: TEST_FILE, format: 'classification', label_names: [...LABEL_NAMES], max_length: settings.seqLength },
    training: {
      epochs: settings.epochs, ...(settings.maxSteps === undefined ? {} : { max_steps: settings.maxSteps }),
      batch_size: settings.batchSize, lr: method.lr, warmup_ratio: 0.06, seed: settings.encoder.seed, logging_steps: 10,
    },
    output: '.',
  };
}

export async function writeRecipe(output: string, fields: Record<string, unknown>, method: MethodSpec): Promise<string> {
  const header =
    `# peft quickstart: ${method.name} on a small BERT pretrained on SpamAssassin mails (lr: ${method.name}'s family rate, scaled for a short run).\n` +
    '# The same run on your own model folder: peft train recipe.yaml --model ./your-model --output runs/spam\n';
  const path = join(output, RECIPE_FILE);
  await writeFileAtomic(path, header + stringify(fields));
  return path;
}
