// Quantisation while loading a model folder, one tensor at a time, and loading folders saved
// quantised by transformers + bitsandbytes. Which layers are quantised follows transformers:
// every Linear (and GPT-2 Conv1D) except the output heads and weights tied to an embedding (or, in
// their place, the user's skip list) and the model's keep-in-float32 modules (T5's `wo`)
// (quantizers/quantizer_bnb_4bit.py, integrations/bitsandbytes.py get_keys_to_not_convert).
import { Tensor, noGrad, ValueError } from '../tensor/index.js';
import { Conv1D, Embedding, Linear, type Module, type Parameter } from '../nn/index.js';
import type { ModelConfig } from '../io/index.js';
import { bitsAndBytesConfig, readBitsAndBytesConfig, resolveQuantization, type QuantizationOptions, type ResolvedQuantization } from './config.js';
import { quantizeInt8, quantizeState4 } from './functional.js';
import { Linear4bit, Linear8bitLt } from './linear.js';
import { QUANT_STATE_KEY, quantState4Keys, readQuantState4, readQuantStateInt8 } from './serialize.js';

/** Output heads transformers keeps in full precision (get_output_embeddings / the last module). */
const OUTPUT_HEADS = ['lm_head', 'classifier', 'score', 'qa_outputs'];
/** Modules transformers keeps in float32 (_keep_in_fp32_modules): T5's feed-forward output. */
const KEEP_IN_FP32: Readonly<Record<string, string[]>> = { t5: ['wo'] };

/** transformers' rule: a skip name matches the module's whole path or a dotted part of it. */
function isSkipped(path: string, names: readonly string[]): boolean {
  return names.some((n) => path === n || path.endsWith(`.${n}`) || path.startsWith(`${n}.`) || path.includes(`.${n}.`));
}

/**
 * The paths of the layers quantisation replaces, in module order. skipModules null: transformers'
 * defaults are kept in full precision; a list replaces them (llm_int8_skip_modules).
 */
export function quantizableLinears(model: Module, modelType: string, skipModules: readonly string[] | null): string[] {
  const embeddings = new Set<Tensor>();
  if (skipModules === null) for (const [, m] of model.namedModules()) if (m instanceof Embedding) embeddings.add(m.weight);
  const skip = [...(skipModules ?? OUTPUT_HEADS), ...(KEEP_IN_FP32[modelType] ?? [])];
  return [...model.namedModules()]
    .filter(([path, m]) => path !== '' && (m instanceof Linear || m instanceof Conv1D) && !(m instanceof Linear4bit || m instanceof Linear8bitLt))
    .filter(([path, m]) => !isSkipped(path, skip) && !embeddings.has((m as Linear).weight))
    .map(([path]) => path);
}

/** The checkpoint being read: its keys and a reader (model.safetensors or shards). */
export interface WeightSource {
  keys(): Iterable<string>;
  get(key: string, options?: { dtype?: Tensor['dtype'] }): Promise<Tensor>;
}

/** What the model loader needs from quantisation. */
export interface QuantizedLoad {
  readonly quantization: ResolvedQuantization;
  /** Checkpoint keys already read into quantised layers (prequantised folders). */
  readonly consumedKeys: ReadonlySet<string>;
  /** Parameters those keys filled. */
  readonly filled: ReadonlySet<Tensor>;
  /** Quantises and installs the checkpoint value of `path` if it is a weight to quantise; else false. */
  take(path: string, read: () => Promise<Tensor>): Promise<boolean>;
  /**
   * After every tensor is read: quantises the layers to quantise whose weight no key of their own
   * filled, i.e. came through a tie (an LM head tied to the embedding, when skipModules does not keep
   * it); the embedding keeps its full-precision weight.
   */
  finish(): void;
}

/**
 * Prepares loading `model` (just built, weights not read) from `weights`: a folder saved
 * quantised gets its quantised layers now; `options` asks to quantise a full-precision folder
 * as it is read. Returns null when neither applies. Records the quantization_config in the
 * config (written back by savePretrained).
 */
export async function beginQuantizedLoad(
  model: Module & { config: ModelConfig },
  resolveKey: (key: string) => string | null,
  weights: WeightSource,
  options: QuantizationOptions | undefined,
): Promise<QuantizedLoad | null> {
  const saved = readBitsAndBytesConfig((model.config.raw as Record<string, unknown>).quantization_config);
  if (saved !== null && options !== undefined) {
    throw new ValueError('this folder holds a quantised model (its config.json has a quantization_config); load it without the quantization option');
  }
  const quantization = saved ?? (options === undefined ? null : resolveQuantization(options));
  if (quantization === null) return null;
  const consumedKeys = new Set<string>();
  const filled = new Set<Tensor>();
  if (saved !== null) await loadPrequantized(model, saved, resolveKey, weights, consumedKeys, filled);
  const pending = saved === null ? new Set(quantizableLinears(model, model.config.model_type, quantization.skipModules)) : new Set<string>();
  setQuantizationConfig(model, quantization);
  return {
    quantization,
    consumedKeys,
    filled,
    async take(path, read) {
      const cut = path.lastIndexOf('.');
      const modulePath = path.slice(0, cut);
      if (path.slice(cut + 1) !== 'weight' || !pending.has(modulePath)) return false;
      const layer = model.getSubmodule(modulePath) as Linear | Conv1D;
      const value = await read();
      model.setSubmodule(modulePath, quantizeLayer(layer, value, quantization));
      // The read buffer goes back to the pool, where the next weight of its size reuses it. The
      // layer's own float weight was never written (so it is not resident): it is left to the
      // garbage collector, since pooling it would hand it to the next read, which would touch
      // it, and the pool would grow by a float weight per layer (float-sized peak memory).
      value.dispose();
      pending.delete(modulePath);
      return true;
    },
    finish() {
      for (const modulePath of pending) {
        const layer = model.getSubmodule(modulePath) as Linear | Conv1D;
        const copy = noGrad(() => layer.weight.clone());
        model.setSubmodule(modulePath, quantizeLayer(layer, copy, quantization));
        copy.dispose();
      }
      pending.clear();
    },
  };
}

/** Stores the quantization_config transformers would write for `q` in the model's config. */
export function setQuantizationConfig(model: { config: ModelConfig }, q: ResolvedQuantization): void {
  const raw = model.config.raw as Record<string, unknown>;
  (model.config as { raw: unknown }).raw = { ...raw, quantization_config: bitsAndBytesConfig(q) };
}

/** A quantised layer from `layer` with its checkpoint weight `value` (Conv1D's transposed first). */
function quantizeLayer(layer: Linear | Conv1D, value: Tensor, q: ResolvedQuantization): Linear4bit | Linear8bitLt {
  const bias = freeze(layer.bias);
  const shape: [number, number] = [layer.outFeatures, layer.inFeatures];
  const values = noGrad(() => {
    const w = layer instanceof Conv1D ? value.T : value;
    const wide = w.to('float32').contiguous();
    const out = wide.data<'float32'>();
    wide.dispose();
    return out;
  });
  if (q.bits === 8) {
    const full = Tensor.fromArray(values, shape, 'float32');
    const state = quantizeInt8(full);
    full.dispose();
    return new Linear8bitLt(state, bias);
  }
  const state = quantizeState4(values, shape, { quantType: q.type, blockSize: q.blockSize, doubleQuant: q.doubleQuant });
  const out = new Linear4bit(state, bias, q.computeDtype);
  out.weightDtype = value.dtype;
  return out;
}

/** The layer's own bias Parameter (the loader fills it later), frozen as the weight is. */
function freeze(bias: Parameter | null): Parameter | null {
  if (bias !== null) bias.requiresGrad = false;
  return bias;
}

/** Installs the quantised layers a transformers-saved folder holds, reading their tensors. */
async function loadPrequantized(
  model: Module & { config: ModelConfig },
  q: ResolvedQuantization,
  resolveKey: (key: string) => string | null,
  weights: WeightSource,
  consumedKeys: Set<string>,
  filled: Set<Tensor>,
): Promise<void> {
  const keys = new Set(weights.keys());
  const prefixes: [string, string][] = [];
  for (const key of keys) {
    if (q.bits === 4) {
      const m = QUANT_STATE_KEY.exec(key);
      if (m) prefixes.push([m[1]!, m[2]!]);
    } else if (key.endsWith('.SCB')) {
      prefixes.push([key.slice(0, -'.SCB'.length), '']);
    }
  }
  if (prefixes.length === 0) throw new ValueError(`config.json says the model is bitsandbytes ${q.bits}-bit but the weights hold no quantised layer`);
  // A quantised head tied to the embedding (saved with skipModules: []) leaves the embedding its weight.
  const embeddings = new Set<Tensor>();
  for (const [, m] of model.namedModules()) if (m instanceof Embedding) embeddings.add(m.weight);
  for (const [prefix, quantType] of prefixes) {
    const weightPath = resolveKey(`${prefix}.weight`);
    const modulePath = weightPath?.slice(0, -'.weight'.length);
    const layer = modulePath === undefined ? null : model.getSubmodule(modulePath);
    if (!(layer instanceof Linear || layer instanceof Conv1D)) throw new ValueError(`${prefix}: a quantised weight for a module the model has no linear layer at`);
    const get = (k: string) => weights.get(k);
    let replacement: Linear4bit | Linear8bitLt;
    if (q.bits === 4) {
      const { state, dtype } = await readQuantState4(prefix, quantType, (k) => keys.has(k), get);
      if (state.shape[0] !== layer.outFeatures || state.shape[1] !== layer.inFeatures) {
        throw new ValueError(`${prefix}: quantised weight of shape [${state.shape.join(', ')}] but the model's layer is [${layer.outFeatures}, ${layer.inFeatures}] (from config.json)`);
      }
      replacement = new Linear4bit(state, freeze(layer.bias), q.computeDtype);
      replacement.weightDtype = dtype;
      for (const k of quantState4Keys(prefix, quantType)) if (keys.has(k)) consumedKeys.add(k);
    } else {
      replacement = new Linear8bitLt(await readQuantStateInt8(prefix, [layer.outFeatures, layer.inFeatures], get), freeze(layer.bias));
      for (const k of [`${prefix}.weight`, `${prefix}.SCB`, `${prefix}.weight_format`]) if (keys.has(k)) consumedKeys.add(k);
    }
    if (!embeddings.has(layer.weight)) layer.weight.dispose();
    model.setSubmodule(modulePath!, replacement);
    filled.add(replacement.weight);
  }
}
