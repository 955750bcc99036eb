// peft info: what a model folder or an adapter folder holds.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, PeftModel, TunerLayer } from '../../peft/index.js';
import { openModel, taskOfPeftType } from '../model-folder.js';
import { readAdapterJson } from './adapter-model.js';
import { InputError } from '../exit-codes.js';

const exists = (path: string) => access(path).then(() => true, () => false);

export async function infoCommand(dir: string, modelDir?: string): Promise<Record<string, unknown>> {
  if (await exists(join(dir, ADAPTER_CONFIG_FILE))) return adapterInfo(dir, modelDir);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8').catch(() => {
    throw new InputError(`${dir} is neither a model folder (config.json) nor an adapter folder (${ADAPTER_CONFIG_FILE})`);
  })) as { architectures?: string[]; model_type?: string };
  const task = config.architectures?.[0]?.endsWith('ForSequenceClassification') ? 'SEQ_CLS' : config.architectures?.[0]?.endsWith('ForConditionalGeneration') ? 'SEQ_2_SEQ_LM' : null;
  const model = await openModel(dir, taskOfPeftType(task));
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  return { kind: 'model', architecture: model.constructor.name, modelType: config.model_type ?? '?', parameters };
}

async function adapterInfo(dir: string, modelDir: string | undefined): Promise<Record<string, unknown>> {
  const json = await readAdapterJson(dir);
  const info: Record<string, unknown> = { kind: 'adapter', method: json.peft_type, taskType: json.task_type ?? null, targetModules: json.target_modules ?? null };
  if (modelDir === undefined) return info;
  // Loaded trainable, so the counts are what training it again would train (HF's print_trainable_parameters).
  const base = await openModel(modelDir, taskOfPeftType(json.task_type as string | null));
  const peft = await PeftModel.fromPretrained(base, dir, { isTrainable: true });
  const targeted = [...peft.base_model.model.namedModules()].filter(([, m]) => m instanceof TunerLayer).map(([name]) => name);
  const { trainable, total } = peft.trainableParameters();
  return { ...info, targetedModules: targeted, adapterParameters: trainable, totalParameters: total, percent: Number(((100 * trainable) / total).toFixed(4)) };
}
