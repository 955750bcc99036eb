// A base model folder with an adapter folder on it, for the commands that only read them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, PeftModel } from '../../peft/index.js';
import type { PretrainedModel } from '../../models/index.js';
import { InputError } from '../exit-codes.js';
import type { DType } from '../../tensor/index.js';
import { dequantizeModel } from '../../quant/dequantize.js';
import type { ModelTask } from '../../models/index.js';
import { folderTask, openModel, taskOfPeftType } from '../model-folder.js';

/** adapter_config.json of `dir`, parsed. */
export async function readAdapterJson(dir: string): Promise<Record<string, unknown>> {
  const text = await readFile(join(dir, ADAPTER_CONFIG_FILE), 'utf8').catch(() => {
    throw new InputError(`${dir} is not an adapter folder: it has no ${ADAPTER_CONFIG_FILE}`);
  });
  return JSON.parse(text) as Record<string, unknown>;
}

/** The model class an adapter goes on: the head its task_type names, else the folder's own (ViT adapters have none). */
export async function adapterTask(modelDir: string, adapterJson: Record<string, unknown> | null): Promise<ModelTask> {
  return taskOfPeftType(adapterJson?.task_type as string | null | undefined) ?? (await folderTask(modelDir));
}

/**
 * The base model (with the head its adapter's task_type asks for) and the adapter on it, or the
 * model alone. With `dtype` the base is held in it, and a quantised base is dequantised into it.
 */
export async function openWithAdapter(modelDir: string, adapterDir: string | undefined, { dtype }: { dtype?: DType } = {}): Promise<{ base: PretrainedModel; peft: PeftModel | null; task: ModelTask }> {
  const task = await adapterTask(modelDir, adapterDir === undefined ? null : await readAdapterJson(adapterDir));
  const base = await openModel(modelDir, task, { dtype });
  if (dtype !== undefined) dequantizeModel(base, dtype);
  return { base, peft: adapterDir === undefined ? null : await PeftModel.fromPretrained(base, adapterDir), task };
}
