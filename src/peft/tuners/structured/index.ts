// Structured masks (only chosen layers or attention heads train) as a tuner plug-in, registered
// under peft_type STRUCTURED_MASK.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { PeftConfigError, TargetModulesError } from '../../errors.js';
import { findTargets, layerIndex } from '../../target.js';
import type { TunerModel } from '../../tuner-model.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { parseStructuredMaskConfig, writeStructuredMaskConfig, type StructuredMaskConfig } from './config.js';
import { headGeometry, headSelection, type HeadGeometry } from './heads.js';
import { StructuredMaskLayer } from './layer.js';

function geometryOf(tuner: TunerModel): HeadGeometry {
  return headGeometry(((tuner.model as { config?: Record<string, unknown> }).config ?? {}));
}

function isLinear(m: Module): m is Linear | Conv1D {
  return m instanceof Linear || m instanceof Conv1D;
}

export const structuredMask: TunerMethod<StructuredMaskConfig> = {
  peftType: 'STRUCTURED_MASK',
  prefix: 'structured_',
  parseConfig: parseStructuredMaskConfig,
  writeConfig: writeStructuredMaskConfig,
  /** With heads_to_transform, only the targets in its layers. */
  selectTargets(model: Module, config: StructuredMaskConfig): string[] {
    const heads = config.headsToTransform;
    const all = findTargets(model, config);
    if (heads === null) return all;
    const layers = new Set(all.map((p) => layerIndex(p, config.layersPattern)));
    const missing = Object.keys(heads).map(Number).filter((l) => !layers.has(l));
    if (missing.length > 0) {
      const present = [...layers].filter((l) => l !== null).sort((a, b) => a! - b!);
      throw new PeftConfigError(`heads_to_transform names layer(s) ${missing.join(', ')}, but target_modules ${JSON.stringify(config.targetModules)} are only in layers ${present.join(', ')}; pick layers among those`);
    }
    return all.filter((p) => heads[layerIndex(p, config.layersPattern)!] !== undefined);
  },
  /** Checks every head of every target before any layer is wrapped, so a bad head leaves the model untouched. */
  prepareAdapter(tuner: TunerModel, _name: string, config: StructuredMaskConfig, targets: ReadonlyMap<string, Module>): void {
    if (config.headsToTransform === null) return;
    const geometry = geometryOf(tuner);
    for (const [path, target] of targets) {
      const layer = target instanceof StructuredMaskLayer ? target : isLinear(target) ? target : null;
      if (layer !== null) headSelection(layer, path, config, geometry);
    }
  },
  inject(target: Module, path: string, name: string, config: StructuredMaskConfig, tuner: TunerModel): Module {
    const geometry = config.headsToTransform === null ? null : geometryOf(tuner);
    if (target instanceof StructuredMaskLayer) {
      target.updateLayer(name, geometry && headSelection(target, path, config, geometry));
      return target;
    }
    if (isLinear(target)) return new StructuredMaskLayer(target, name, geometry && headSelection(target, path, config, geometry));
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; structured masks adapt Linear and Conv1D weights, so name those in target_modules`);
  },
};

registerTuner(structuredMask);

export { StructuredMaskLayer } from './layer.js';
export { headGeometry, headSelection, type HeadGeometry, type Selection } from './heads.js';
export { parseStructuredMaskConfig, writeStructuredMaskConfig, type StructuredMaskConfig, type StructuredMaskOptions } from './config.js';
