// peft info: what a model folder, a .gguf model file or an adapter folder holds.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, PeftModel, TunerLayer } from '../../peft/index.js';
import { folderTask, openModel } from '../model-folder.js';
import { isGgufLocation } from '../../gguf/load/open.js';
import { adapterTask, readAdapterJson } from './adapter-model.js';
import { InputError } from '../exit-codes.js';
import { modelMemory } from '../../quant/memory.js';
import { DTYPES } from '../../tensor/dtype.js';

/** "4-bit nf4, double quantisation" from a bitsandbytes quantization_config. */
function describeQuantization(c: Record<string, unknown>): string {
  if (c.load_in_8bit === true) return 'int8 (bitsandbytes)';
  return `4-bit ${String(c.bnb_4bit_quant_type ?? 'fp4')}${c.bnb_4bit_use_double_quant === true ? ', double quantisation' : ''} (bitsandbytes)`;
}

const exists = (path: string) => access(path).then(() => true, () => false);

export async function infoCommand(dir: string, modelDir?: string): Promise<Record<string, unknown>> {
  if (await exists(join(dir, ADAPTER_CONFIG_FILE))) return adapterInfo(dir, modelDir);
  if (!isGgufLocation(dir) && !(await exists(join(dir, 'config.json')))) throw new InputError(`${dir} is neither a model folder (config.json), a .gguf model file nor an adapter folder (${ADAPTER_CONFIG_FILE})`);
  const model = await openModel(dir, await folderTask(dir));
  const memory = modelMemory(model);
  const quantization = (model.config.raw as { quantization_config?: unknown }).quantization_config ?? null;
  return {
    kind: 'model', architecture: model.constructor.name, modelType: model.config.model_type, parameters: memory.parameters,
    quantization: quantization === null ? 'none' : describeQuantization(quantization as Record<string, unknown>),
    bytes: memory.totalBytes, bytesPerParameter: Number((memory.totalBytes / memory.parameters).toFixed(4)),
    bytesByKind: { quantized: memory.quantizedBytes, quantStats: memory.quantStatsBytes, fullPrecision: memory.fullPrecisionBytes },
    bytesByPart: memory.parts,
  };
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
  const adapterBytes = peft.namedParameters().filter(([, p]) => p.requiresGrad).reduce((n, [, p]) => n + p.size * DTYPES[p.dtype].bytes, 0);
  return { ...info, targetedModules: targeted, adapterParameters: trainable, totalParameters: total, percent: Number(((100 * trainable) / total).toFixed(4)), adapterBytes, baseBytes: modelMemory(base).totalBytes };
}
