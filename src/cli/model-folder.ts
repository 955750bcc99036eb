// Opening a model folder for a command: a clear error when it has no weights, the tokenizer with a
// pad token, and the model class for the data's task.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoTokenizer, INDEX_FILE, WEIGHTS_FILE, loadConfig, type PreTrainedTokenizer } from '../io/index.js';
import { architectureNames, getArchitecture, loadPretrained, type FromPretrainedOptions, type ModelTask, type PretrainedModel } from '../models/index.js';
import type { LabelOptions } from '../io/config/labels.js';
import type { DataFormat } from '../train/data/index.js';
import { InputError } from './exit-codes.js';
import { isGgufLocation } from '../gguf/load/open.js';

const exists = (path: string) => access(path).then(() => true, () => false);

export async function checkModelFolder(dir: string): Promise<void> {
  // A .gguf file is a whole model too: config (metadata), weights and tokenizer in one file.
  if (isGgufLocation(dir)) {
    if (!(await exists(dir))) throw new InputError(`GGUF model file ${dir} does not exist; give the path of a .gguf file or of a Hugging Face model folder`);
    return;
  }
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

/** The model task of HF PEFT's task_type; null for none (FEATURE_EXTRACTION, or unset as for ViT). */
export function taskOfPeftType(taskType: string | null | undefined): Exclude<ModelTask, 'base'> | null {
  const tasks: Record<string, Exclude<ModelTask, 'base'>> = { CAUSAL_LM: 'causal-lm', SEQ_2_SEQ_LM: 'seq2seq-lm', SEQ_CLS: 'sequence-classification', TOKEN_CLS: 'token-classification' };
  return tasks[taskType ?? ''] ?? null;
}

/**
 * The task of a model folder's (or .gguf file's) own head: the first of config.json's architectures peftjs knows
 * ('base' for BertModel, ViTModel, ...); without architectures, the family's causal or seq2seq
 * class, else its base model.
 */
export async function folderTask(dir: string): Promise<ModelTask> {
  await checkModelFolder(dir);
  if (isGgufLocation(dir)) return 'causal-lm'; // the GGUF architectures peftjs reads are causal LMs
  const config = await loadConfig(dir);
  for (const name of config.architectures) {
    const entry = getArchitecture(name);
    if (entry !== undefined) return entry.task;
  }
  const task = (['causal-lm', 'seq2seq-lm', 'base'] as const).find((t) => familyHas(config.model_type, t));
  if (task !== undefined) return task;
  throw new InputError(`${dir}: peftjs has no model class for ${config.architectures.join(', ') || config.model_type}; it knows ${architectureNames().join(', ')}`);
}

/** Whether peftjs registers a class of `task` for the family of `modelType` (gpt2 → GPT2LMHeadModel, ...). */
export function familyHas(modelType: string, task: ModelTask): boolean {
  const family = modelType.replace(/_/g, '');
  return architectureNames(task).some((name) => name.toLowerCase().startsWith(family));
}

export async function openModel(dir: string, task: ModelTask, options: LabelOptions & Omit<FromPretrainedOptions, 'logger'> = {}, warn: (m: string) => void = () => {}): Promise<PretrainedModel> {
  await checkModelFolder(dir);
  return (await loadPretrained(dir, task, { ...options, logger: { warn } })).model as PretrainedModel;
}

export async function openTokenizer(dir: string): Promise<PreTrainedTokenizer> {
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  if (tokenizer.padToken === null && tokenizer.eosToken !== null) tokenizer.padToken = tokenizer.eosToken;
  return tokenizer;
}
