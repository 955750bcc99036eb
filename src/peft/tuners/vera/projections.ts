// VeRA's frozen random projections, shared by every layer of an adapter: vera_A [r, max in] and
// vera_B [max out, r], sized for the widest targeted layer (each layer uses the top-left slice it
// needs). As in HF PEFT they live on the tuner, as buffers vera_A.<adapter> and vera_B.<adapter>,
// so the core saves them as `base_model.vera_A` / `base_model.vera_B` when save_projection is true.
import { Tensor, TorchCpuGenerator, tensor } from '../../../tensor/index.js';
import { Conv1D, Linear, Module } from '../../../nn/index.js';
import { PeftConfigError, TargetModulesError } from '../../errors.js';
import type { TunerModel } from '../../tuner-model.js';
import { TunerLayer } from '../tuner-layer.js';
import type { VeraConfig } from './config.js';

/** HF's BufferDict: one buffer per adapter name. */
export class BufferDict extends Module {
  set(key: string, t: Tensor, persistent: boolean): void {
    this.registerBuffer(key, t, persistent);
  }

  get(key: string): Tensor | undefined {
    const value = (this as unknown as Record<string, unknown>)[key];
    return value instanceof Tensor ? value : undefined;
  }

  delete(key: string): void {
    this.get(key)?.dispose();
    delete (this as unknown as Record<string, unknown>)[key];
  }
}

export interface Projections {
  a: Tensor;
  b: Tensor;
}

type VeraTuner = TunerModel & { vera_A?: BufferDict; vera_B?: BufferDict };

/** The projections of adapter `name`, made by createProjections. */
export function projectionsOf(tuner: TunerModel, name: string): Projections {
  const t = tuner as VeraTuner;
  const a = t.vera_A?.get(name);
  const b = t.vera_B?.get(name);
  if (a === undefined || b === undefined) throw new PeftConfigError(`VeRA adapter '${name}' has no shared projections; add it through PeftModel`);
  return { a, b };
}

/**
 * Draws adapter `name`'s projections for `targets` (HF's _pre_injection_hook and
 * _init_vera_A_vera_B): kaiming-uniform, vera_A then vera_B, from torch's CPU generator seeded with
 * projection_prng_key, so they are bit for bit HF's (and an adapter saved without them reloads).
 */
export function createProjections(tuner: TunerModel, name: string, config: VeraConfig, targets: ReadonlyMap<string, Module>): void {
  checkLikeOtherAdapters(tuner, config);
  const [outFeatures, inFeatures] = largestShape(targets);
  const generator = new TorchCpuGenerator(config.projectionPrngKey);
  const t = tuner as VeraTuner;
  t.vera_A ??= new BufferDict();
  t.vera_B ??= new BufferDict();
  t.vera_A.set(name, kaimingUniform([config.r, inFeatures], generator), config.saveProjection);
  t.vera_B.set(name, kaimingUniform([outFeatures, config.r], generator), config.saveProjection);
}

export function removeProjections(tuner: TunerModel, name: string): void {
  const t = tuner as VeraTuner;
  t.vera_A?.delete(name);
  t.vera_B?.delete(name);
}

/** HF's rules for several VeRA adapters on one model: one projection key, and all save projections or none. */
function checkLikeOtherAdapters(tuner: TunerModel, config: VeraConfig): void {
  for (const [other, existing] of tuner.configs) {
    const c = existing as VeraConfig;
    if (c.projectionPrngKey !== config.projectionPrngKey) {
      throw new PeftConfigError(`projection_prng_key ${config.projectionPrngKey} differs from adapter '${other}''s ${c.projectionPrngKey}; every VeRA adapter of a model uses the same key`);
    }
    if (c.saveProjection !== config.saveProjection) {
      throw new PeftConfigError(`save_projection ${config.saveProjection} differs from adapter '${other}''s ${c.saveProjection}; set it the same for every VeRA adapter`);
    }
  }
}

/** [out, in] of the widest targets, dimension by dimension (HF's _find_dim). */
function largestShape(targets: ReadonlyMap<string, Module>): [number, number] {
  let out = 0;
  let inp = 0;
  for (const module of targets.values()) {
    const layer = module instanceof TunerLayer ? module.base_layer : module;
    if (!(layer instanceof Linear || layer instanceof Conv1D)) continue;
    out = Math.max(out, layer.outFeatures);
    inp = Math.max(inp, layer.inFeatures);
  }
  if (out === 0) throw new TargetModulesError(`target_modules names no Linear or Conv1D layer (${[...targets.keys()].join(', ')}); VeRA adapts only those`);
  return [out, inp];
}

/**
 * HF's _kaiming_init (gain √2, fan_in = shape[1]): U(−bound, bound), bound = √3 · (√2 / √fan_in),
 * computed in HF's order so that its float32 rounding is torch's.
 */
function kaimingUniform(shape: [number, number], generator: TorchCpuGenerator): Tensor {
  const bound = Math.sqrt(3) * (Math.SQRT2 / Math.sqrt(shape[1]));
  return tensor(generator.uniformFloat32(new Float32Array(shape[0] * shape[1]), -bound, bound), shape);
}
