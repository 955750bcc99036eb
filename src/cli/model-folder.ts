// Opening a model folder for a command: a clear error when it has no weights, the tokenizer with a
// pad token, and the model class for the data's task.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoTokenizer, INDEX_FILE, WEIGHTS_FILE, type PreTrainedTokenizer } from '../io/index.js';
import { loadPretrained, type ModelTask, type PretrainedModel } from '../models/index.js';
import type { LabelOptions } from '../io/config/labels.js';
import type { DataFormat } from '../train/data/index.js';
import { InputError } from './exit-codes.js';

const exists = (path: string) => access(path).then(() => true, () => false);

export async function checkModelFolder(dir: string): Promise<void> {
  if (!(await exists(join(dir, 'config.json')))) {
    throw new InputError(`${dir} is not a model folder: it has no config.json; give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)`);
  }
  if (!(await exists(join(dir, WEIGHTS_FILE))) && !(await exists(join(dir, INDEX_FILE)))) {
    throw new InputError(`model folder ${dir} has no weights: neither ${WEIGHTS_FILE} nor ${INDEX_FILE}; download the checkpoint's safetensors files into it (peftjs does not read pytorch_model.bin)`);
  }
}

export function taskOf(format: DataFormat): Exclude<ModelTask, 'base'> {
  return format === 'classification' ? 'sequence-classification' : format === 'seq2seq' ? 'seq2seq-lm' : 'causal-lm';
}

/** HF PEFT's task_type for a model task. */
export function peftTaskType(task: ModelTask): string {
  return { 'causal-lm': 'CAUSAL_LM', 'seq2seq-lm': 'SEQ_2_SEQ_LM', 'sequence-classification': 'SEQ_CLS', 'token-classification': 'TOKEN_CLS' }[task as string] ?? 'FEATURE_EXTRACTION';
}

/** The model task an adapter was trained for (its task_type), or the model's own head. */
export function taskOfPeftType(taskType: string | null | undefined): Exclude<ModelTask, 'base'> {
  return taskType === 'SEQ_CLS' ? 'sequence-classification' : taskType === 'SEQ_2_SEQ_LM' ? 'seq2seq-lm' : taskType === 'TOKEN_CLS' ? 'token-classification' : 'causal-lm';
}

export async function openModel(dir: string, task: Exclude<ModelTask, 'base'>, labels: LabelOptions = {}, warn: (m: string) => void = () => {}): Promise<PretrainedModel> {
  await checkModelFolder(dir);
  return (await loadPretrained(dir, task, { ...labels, logger: { warn } })).model as PretrainedModel;
}

export async function openTokenizer(dir: string): Promise<PreTrainedTokenizer> {
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  if (tokenizer.padToken === null && tokenizer.eosToken !== null) tokenizer.padToken = tokenizer.eosToken;
  return tokenizer;
}
