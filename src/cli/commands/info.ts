// peft info: what a model folder or an adapter folder holds.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, PeftModel, TunerLayer } from '../../peft/index.js';
import { folderTask, openModel } from '../model-folder.js';
import { adapterTask, readAdapterJson } from './adapter-model.js';
import { InputError } from '../exit-codes.js';

const exists = (path: string) => access(path).then(() => true, () => false);

export async function infoCommand(dir: string, modelDir?: string): Promise<Record<string, unknown>> {
  if (await exists(join(dir, ADAPTER_CONFIG_FILE))) return adapterInfo(dir, modelDir);
  if (!(await exists(join(dir, 'config.json')))) throw new InputError(`${dir} is neither a model folder (config.json) nor an adapter folder (${ADAPTER_CONFIG_FILE})`);
  const model = await openModel(dir, await folderTask(dir));
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  return { kind: 'model', architecture: model.constructor.name, modelType: (model as { config?: { model_type?: string } }).config?.model_type ?? '?', parameters };
}

async function adapterInfo(dir: string, modelDir: string | undefined): Promise<Record<string, unknown>> {
  const json = await readAdapterJson(dir);
  const info: Record<string, unknown> = { kind: 'adapter', method: json.peft_type, taskType: json.task_type ?? null, targetModules: json.target_modules ?? null };
  if (modelDir === undefined) return info;
  // Loaded trainable, so the counts are what training it again would train (HF's print_trainable_parameters).
  const base = await openModel(modelDir, await adapterTask(modelDir, json));
  const peft = await PeftModel.fromPretrained(base, dir, { isTrainable: true });
  const targeted = [...peft.base_model.model.namedModules()].filter(([, m]) => m instanceof TunerLayer).map(([name]) => name);
  const { trainable, total } = peft.trainableParameters();
  return { ...info, targetedModules: targeted, adapterParameters: trainable, totalParameters: total, percent: Number(((100 * trainable) / total).toFixed(4)) };
}
