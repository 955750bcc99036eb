// Loading a Hugging Face model folder: config.json picks the class, the safetensors weights fill
// it. Every mismatch is found before any weight is copied, and all of them are reported.
import { ShapeError, noGrad, PeftError, formatShape, checkDType, type DType } from '../tensor/index.js';
import { StateDictError, withoutInit, type Parameter } from '../nn/index.js';
import { loadConfig, openModelWeights, UnknownArchitectureError, type ModelConfig } from '../io/index.js';
import { architectureNames, getArchitecture, type ArchitectureEntry, type ModelTask, type PretrainedModel } from './registry.js';

export interface FromPretrainedOptions {
  /** Storage type of the weights: 'float32' (default), 'bfloat16' or 'float16' (computed with float32 accumulation). */
  dtype?: DType;
}

const LOADABLE_DTYPES: DType[] = ['float32', 'bfloat16', 'float16', 'float64'];

/** The architecture to build for `task` from a config (the checkpoint's own, or a sibling with the same base). */
function chooseArchitecture(dir: string, config: ModelConfig, task: ModelTask | undefined): [string, ArchitectureEntry] {
  const listed = config.architectures.length > 0 ? config.architectures : [];
  for (const name of listed) {
    const entry = getArchitecture(name);
    if (entry && (task === undefined || entry.task === task)) return [name, entry];
  }
  // A checkpoint saved from one head can be loaded with another of the same family.
  const family = config.model_type;
  for (const name of architectureNames(task)) {
    const entry = getArchitecture(name)!;
    if (name.toLowerCase().startsWith(family.replace(/_/g, '')) && (task === undefined || entry.task === task)) return [name, entry];
  }
  throw new UnknownArchitectureError(
    dir,
    `${listed.join(', ') || family}${task ? ` (as a ${task} model)` : ''}`,
    architectureNames(task),
  );
}

/** Loads `dir` (config.json + model.safetensors or shards) into the class its config names. */
export async function loadPretrained(dir: string, task?: ModelTask, options: FromPretrainedOptions = {}): Promise<PretrainedModel> {
  const dtype = checkDType(options.dtype ?? 'float32');
  if (!LOADABLE_DTYPES.includes(dtype)) {
    throw new PeftError('E_VALUE', `fromPretrained: dtype must be one of ${LOADABLE_DTYPES.join(', ')}, not ${dtype}`);
  }
  const config = await loadConfig(dir);
  const [, entry] = chooseArchitecture(dir, config, task);
  const model = withoutInit(() => entry.build(config, dtype));
  const weights = await openModelWeights(dir);
  try {
    const own = model.stateDict() as Map<string, Parameter>;
    const sources = new Map<string, string>();
    const unexpected: string[] = [];
    for (const key of weights.keys()) {
      const path = resolveKey(key, entry, own);
      if (path !== null) sources.set(path, key);
      else if (!entry.ignoredKeys?.test(key)) unexpected.push(key);
    }
    const loaded = new Set([...sources.keys()].map((p) => own.get(p)!));
    const missing = [...own.keys()].filter((p) => !sources.has(p) && !loaded.has(own.get(p)!));
    const mismatched: string[] = [];
    for (const [path, key] of sources) {
      const info = await weights.info(key);
      const expected = own.get(path)!.shape;
      if (info.shape.join() !== expected.join()) {
        mismatched.push(`${key}: checkpoint ${formatShape(info.shape)} vs model ${formatShape(expected)} (from config.json)`);
      }
    }
    if (mismatched.length > 0) {
      throw new ShapeError(`${dir}: the weights contradict config.json in ${mismatched.length} tensor(s):\n  ${mismatched.join('\n  ')}`);
    }
    if (missing.length > 0 || unexpected.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing from the checkpoint (${missing.length}): ${missing.join(', ')}`);
      if (unexpected.length > 0) parts.push(`not in the model (${unexpected.length}): ${unexpected.join(', ')}`);
      throw new StateDictError(`${dir}: the weights do not fit ${model.constructor.name}: ${parts.join('; ')}`, missing, unexpected);
    }
    for (const [path, key] of sources) {
      const target = own.get(path)!;
      const value = await weights.get(key, { dtype: target.dtype });
      noGrad(() => target.copy_(value));
      value.dispose();
    }
  } finally {
    await weights.close();
  }
  model.eval();
  return model;
}

/** Our module path for a checkpoint key, trying it as is, renamed, and with/without the base prefix. */
function resolveKey(key: string, entry: ArchitectureEntry, own: Map<string, unknown>): string | null {
  const renamed = entry.renameKey ? entry.renameKey(key) : key;
  const prefix = `${entry.basePrefix}.`;
  const candidates = [renamed, prefix + renamed, renamed.startsWith(prefix) ? renamed.slice(prefix.length) : null];
  return candidates.find((c) => c !== null && own.has(c)) ?? null;
}
