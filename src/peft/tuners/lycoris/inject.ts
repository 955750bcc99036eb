// Injection of a LyCORIS method (LoHa, LoKr): wraps Linear and GPT-2 Conv1D layers, or adds an
// adapter to a layer that already is one of the method's.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { patternValue } from '../../target.js';
import type { BaseLayer } from '../tuner-layer.js';
import type { LycorisConfig } from './config.js';
import type { LycorisLayer, LycorisLayerOptions } from './layer.js';

/** The shared options of adapter `name` at `path`, with rank_pattern and alpha_pattern applied. */
export function lycorisOptions(config: LycorisConfig, path: string): LycorisLayerOptions {
  return {
    r: patternValue(config.rankPattern, path) ?? config.r,
    alpha: patternValue(config.alphaPattern, path) ?? config.alpha,
    rankDropout: config.rankDropout,
    moduleDropout: config.moduleDropout,
  };
}

/**
 * The TunerMethod.inject of a LyCORIS method: `create` wraps a plain layer, `update` adds the
 * adapter to an existing wrapper of type `layerClass`.
 */
export function injectLycoris<L extends LycorisLayer>(
  target: Module,
  path: string,
  method: string,
  layerClass: abstract new (...args: never[]) => L,
  create: (base: BaseLayer) => L,
  update: (layer: L) => void,
): Module {
  if (target instanceof layerClass) {
    update(target);
    return target;
  }
  if (target instanceof Linear || target instanceof Conv1D) return create(target);
  throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; ${method} adapts Linear and Conv1D layers, so name those in target_modules`);
}
