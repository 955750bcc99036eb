// Memory options for training: gradient checkpointing of the decoder/encoder layers, and frozen
// base weights stored in bf16 (or f16) while the trainable parameters stay float32.
import { Tensor, checkpoint, isGradEnabled, noGrad, type DType } from '../tensor/index.js';
import { DTYPES } from '../tensor/dtype.js';
import { Module, ModuleList, Parameter } from '../nn/index.js';
import { TrainingArgumentError } from './errors.js';

/** Where HF models keep their layer stacks: model.layers, transformer.h, encoder.layer, encoder.block. */
const LAYER_LISTS = new Set(['layers', 'h', 'layer', 'block']);

type LayerForward = (h: Tensor, ...rest: unknown[]) => Tensor;

/**
 * Makes each layer of the model's stacks recompute its activations during backward instead of
 * keeping them (HF's gradient_checkpointing_enable). Only in training with gradients on, and only
 * when the layer's other arguments carry nothing that needs a gradient or holds state (a KV cache,
 * trainable prefixes), which a checkpoint would cut off. Returns the number of layers wrapped.
 */
export function enableGradientCheckpointing(model: Module): number {
  const wrapped: string[] = [];
  for (const [path, list] of model.namedModules()) {
    const name = path.slice(path.lastIndexOf('.') + 1);
    if (!(list instanceof ModuleList) || !LAYER_LISTS.has(name)) continue;
    if (wrapped.some((w) => path.startsWith(`${w}.`))) continue; // a stack inside a wrapped layer (T5's sub-layers)
    for (const layer of list) wrapLayer(layer as Module & { forward: LayerForward });
    wrapped.push(...[...list.namedChildren()].map(([i]) => `${path}.${i}`));
  }
  if (wrapped.length === 0) {
    throw new TrainingArgumentError(`gradient checkpointing found no layer stack (${[...LAYER_LISTS].join(', ')}) in ${model.constructor.name}`);
  }
  return wrapped.length;
}

const CHECKPOINTED = Symbol('checkpointed');

function wrapLayer(layer: Module & { forward: LayerForward; [CHECKPOINTED]?: boolean }): void {
  if (layer[CHECKPOINTED]) return;
  const forward = layer.forward.bind(layer);
  layer.forward = (h: Tensor, ...rest: unknown[]) =>
    layer.training && isGradEnabled() && !rest.some(needsGradOrHoldsState)
      ? checkpoint((x) => forward(x, ...rest), h)
      : forward(h, ...rest);
  layer[CHECKPOINTED] = true;
}

/** True for a tensor that requires grad, or any object other than plain data and tensors (a cache). */
function needsGradOrHoldsState(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Tensor) return value.requiresGrad;
  if (Array.isArray(value)) return value.some(needsGradOrHoldsState);
  if (Object.getPrototypeOf(value) !== Object.prototype) return true;
  return Object.values(value).some(needsGradOrHoldsState);
}

/**
 * Stores every frozen floating-point parameter of `model` in `dtype` (bf16 by default) in place;
 * trainable ones (the adapters) stay as they are. Tied parameters stay tied. Returns the bytes saved.
 */
export function castFrozenParameters(model: Module, dtype: DType = 'bfloat16'): number {
  if (dtype !== 'bfloat16' && dtype !== 'float16') throw new TrainingArgumentError(`frozen weights can be stored as bfloat16 or float16, not ${dtype}`);
  return recastParameters(model, (p) => !p.requiresGrad && (p.dtype === 'float32' || p.dtype === 'float64'), dtype);
}

/**
 * Replaces every parameter `select` picks by a frozen copy in `dtype`, in every module that holds
 * it (tied parameters stay tied). Returns the bytes saved (negative when the copies are wider).
 */
export function recastParameters(model: Module, select: (p: Parameter) => boolean, dtype: DType): number {
  const replaced = new Map<Tensor, Parameter>();
  let saved = 0;
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      for (const [name, p] of m.ownParameters()) {
        if (!replaced.has(p) && !select(p)) continue;
        let cast = replaced.get(p);
        if (cast === undefined) {
          const converted = p.to(dtype);
          cast = new Parameter(converted, false);
          converted.dispose(); // the parameter holds the storage now
          cast.name = p.name;
          replaced.set(p, cast);
          saved += p.size * (DTYPES[p.dtype].bytes - DTYPES[dtype].bytes);
        }
        (m as unknown as Record<string, unknown>)[name] = cast;
      }
    }
  });
  for (const old of replaced.keys()) old.dispose();
  return saved;
}
