// Loading a Hugging Face model folder: config.json picks the class, the safetensors weights fill
// it. Every mismatch is found before any weight is copied, and all of them are reported. The
// parameters an architecture declares fresh-able (a task head, a pooler) may be absent: they are
// then initialised as HF does and reported, as HF's "newly initialized" warning does.
import { ShapeError, noGrad, PeftError, formatShape, checkDType, type DType } from '../tensor/index.js';
import { StateDictError, withoutInit, type Parameter } from '../nn/index.js';
import {
  loadConfig,
  openModelWeights,
  sourceFor,
  UnknownArchitectureError,
  type FileSource,
  type ModelConfig,
} from '../io/index.js';
import { withLabels, type LabelOptions } from '../io/config/labels.js';
import {
  architectureNames,
  getArchitecture,
  type ArchitectureEntry,
  type ModelTask,
  type PretrainedModel,
  type TaskOutput,
} from './registry.js';
import { initFreshParameters } from './fresh-parameters.js';
import { ensureModelFitsBackend } from './backend-fits.js';
import { beginQuantizedLoad } from '../quant/load.js';
import type { QuantizationOptions } from '../quant/config.js';
import { isGgufLocation, openGgufModel } from '../gguf/load/open.js';
import { installGgmlLayers } from '../gguf/load/quantized.js';
import { keepHalfWeights } from '../gguf/load/half-weights.js';

/** Where loading warnings go. */
export interface Logger {
  warn(message: string): void;
}

export interface FromPretrainedOptions extends LabelOptions {
  /**
   * Storage type of the weights: 'float32' (default), 'bfloat16' or 'float16' (computed with float32
   * accumulation). A GGUF file's block-quantised weights (Q8_0, Q4_K, ...) stay quantised, and its
   * F16 / BF16 matrices stay in 16 bits, when no dtype is given; with a dtype, all are converted to it.
   */
  dtype?: DType;
  /**
   * A checkpoint head whose shape differs from the model's (it was trained for other labels) is
   * initialised anew instead of being an error (HF's ignore_mismatched_sizes, for heads only).
   */
  ignoreMismatchedSizes?: boolean;
  /** Receives the notice about newly initialised parameters (default: console). */
  logger?: Logger;
  /**
   * Quantise the linear layers while reading them (bitsandbytes' 4-bit or int8 layout), one
   * tensor at a time; output heads and tied weights stay in `dtype`, as in transformers. A
   * folder saved quantised (config.json has a bitsandbytes quantization_config) loads as saved
   * without this option.
   */
  quantization?: QuantizationOptions;
}

export interface LoadedModel<M> {
  model: M;
  /** Our paths of the parameters the checkpoint did not provide, initialised anew; sorted. */
  newlyInitialized: string[];
}

const LOADABLE_DTYPES: DType[] = ['float32', 'bfloat16', 'float16', 'float64'];

/** The architecture to build for `task` from a config (the checkpoint's own, or a sibling of the same family). */
function chooseArchitecture(dir: string, config: ModelConfig, task: ModelTask): ArchitectureEntry {
  for (const name of config.architectures) {
    const entry = getArchitecture(name);
    if (entry?.task === task) return entry;
  }
  // A checkpoint saved from one head (or none) can be loaded with another of the same family.
  const family = config.model_type.replace(/_/g, '');
  const sibling = architectureNames(task).find((name) => name.toLowerCase().startsWith(family));
  if (sibling !== undefined) return getArchitecture(sibling)!;
  throw new UnknownArchitectureError(
    dir,
    `${config.architectures.join(', ') || family} (as a ${task} model)`,
    architectureNames(task),
  );
}

/**
 * Loads `location` (config.json + model.safetensors or shards; a folder path in Node, a URL in the
 * browser build, or any FileSource) into the `task` class of its family, and says which parameters
 * the checkpoint lacked and were initialised anew.
 */
export async function loadPretrained<T extends ModelTask>(
  location: string | FileSource,
  task: T,
  options: FromPretrainedOptions = {},
): Promise<LoadedModel<PretrainedModel<TaskOutput<T>>>> {
  const dtype = checkDType(options.dtype ?? 'float32');
  if (!LOADABLE_DTYPES.includes(dtype)) {
    throw new PeftError('E_VALUE', `fromPretrained: dtype must be one of ${LOADABLE_DTYPES.join(', ')}, not ${dtype}`);
  }
  const source = sourceFor(location);
  // A .gguf file brings its config (from its metadata) and its weights (under HF names) in one file.
  const gguf = isGgufLocation(location) ? await openGgufModel(location) : null;
  const dir = gguf === null ? source.describe() : String(location);
  const { config, entry } = await closingOnError(gguf?.weights, async () => {
    const config = withLabels(gguf?.config ?? (await loadConfig(source)), options);
    return { config, entry: chooseArchitecture(dir, config, task) };
  });
  const isFresh = (path: string) => entry.freshParameters?.paths.test(path) ?? false;
  const weights = gguf?.weights ?? (await openModelWeights(source));
  const fresh: string[] = [];
  let model: PretrainedModel<TaskOutput<T>>;
  try {
    // A GGUF file's block-quantised weights stay quantised unless a dtype (or bnb quantisation) is asked for.
    const keepGgml = gguf !== null && options.dtype === undefined && options.quantization === undefined;
    await ensureModelFitsBackend(weights, dtype, dir, options.quantization !== undefined || keepGgml);
    // chooseArchitecture picked an entry of `task`, whose models return TaskOutput<T>.
    model = withoutInit(() => entry.build(config, dtype)) as PretrainedModel<TaskOutput<T>>;
    const unquantized = model.stateDict();
    const quant = await beginQuantizedLoad(
      model,
      (key) => resolveKey(key, entry, unquantized),
      weights,
      options.quantization,
    );
    const ggml = keepGgml
      ? await installGgmlLayers(model, (key) => resolveKey(key, entry, unquantized), gguf.weights)
      : null;
    const half = keepGgml ? await keepHalfWeights(model, (key) => resolveKey(key, entry, unquantized), gguf.weights) : null;
    const own = model.stateDict() as Map<string, Parameter>;
    const sources = new Map<string, string>();
    const unexpected: string[] = [];
    for (const key of weights.keys()) {
      if (quant?.consumedKeys.has(key) || ggml?.consumedKeys.has(key) || half?.consumedKeys.has(key)) continue;
      const path = resolveKey(key, entry, own);
      if (path !== null) sources.set(path, key);
      else if (!entry.ignoredKeys?.test(key)) unexpected.push(key);
    }
    const mismatched: string[] = [];
    for (const [path, key] of sources) {
      const info = await weights.info(key);
      const expected = own.get(path)!.shape;
      if (info.shape.join() === expected.join()) continue;
      if (options.ignoreMismatchedSizes && isFresh(path)) {
        sources.delete(path);
        continue;
      }
      const hint = isFresh(path)
        ? ': a head for other labels (pass ignoreMismatchedSizes: true to start it anew)'
        : ' (from config.json)';
      mismatched.push(`${key}: checkpoint ${formatShape(info.shape)} vs model ${formatShape(expected)}${hint}`);
    }
    if (mismatched.length > 0) {
      throw new ShapeError(
        `${dir}: the weights contradict the model in ${mismatched.length} tensor(s):\n  ${mismatched.join('\n  ')}`,
      );
    }
    const loaded = new Set<unknown>([...sources.keys()].map((p) => own.get(p)!));
    for (const t of [...(quant?.filled ?? []), ...(ggml?.filled ?? []), ...(half?.filled ?? [])]) loaded.add(t);
    const missing = [...own.keys()].filter((p) => !sources.has(p) && !loaded.has(own.get(p)!));
    fresh.push(...missing.filter(isFresh).sort());
    const absent = missing.filter((p) => !isFresh(p));
    if (absent.length > 0 || unexpected.length > 0) {
      const parts: string[] = [];
      if (absent.length > 0) parts.push(`missing from the checkpoint (${absent.length}): ${absent.join(', ')}`);
      if (unexpected.length > 0) parts.push(`not in the model (${unexpected.length}): ${unexpected.join(', ')}`);
      throw new StateDictError(
        `${dir}: the weights do not fit ${model.constructor.name}: ${parts.join('; ')}`,
        absent,
        unexpected,
      );
    }
    for (const [path, key] of sources) {
      if (quant && (await quant.take(path, () => weights.get(key)))) continue;
      const target = own.get(path)!;
      const value = await weights.get(key, { dtype: target.dtype });
      noGrad(() => target.copy_(value));
      value.dispose();
    }
    quant?.finish();
  } finally {
    await weights.close();
  }
  if (fresh.length > 0) {
    initFreshParameters(model, fresh, entry.freshParameters!.std(config));
    (options.logger ?? console).warn(
      `Some weights of ${model.constructor.name} were not initialized from the model checkpoint at ${dir} and are newly initialized: ` +
        `[${fresh.join(', ')}]\nYou should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.`,
    );
  }
  model.eval();
  return { model, newlyInitialized: fresh };
}

/** Runs `build`; if it throws, closes the already-open `weights` (a .gguf file's handle) before rethrowing. */
async function closingOnError<R>(weights: { close(): Promise<void> } | undefined, build: () => Promise<R>): Promise<R> {
  try {
    return await build();
  } catch (error) {
    await weights?.close();
    throw error;
  }
}

/** Our module path for a checkpoint key, trying it as is, renamed, and with/without the base prefix. */
export function resolveKey(key: string, entry: ArchitectureEntry, own: Map<string, unknown>): string | null {
  const renamed = entry.renameKey ? entry.renameKey(key) : key;
  const prefix = `${entry.basePrefix}.`;
  const candidates = [renamed, prefix + renamed, renamed.startsWith(prefix) ? renamed.slice(prefix.length) : null];
  return candidates.find((c) => c !== null && own.has(c)) ?? null;
}
