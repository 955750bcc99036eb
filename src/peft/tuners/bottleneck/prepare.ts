// What a bottleneck config needs from the model before targeting: target modules from the
// architecture's placements, AdapterDrop's layers, and a fusion's checks and placement.
import type { Module } from '../../../nn/index.js';
import { AdapterNameError, PeftConfigError } from '../../errors.js';
import { modelType } from '../../model-type.js';
import { findTargets, layerIndex } from '../../target.js';
import type { TunerModel } from '../../tuner-model.js';
import { isParallel, type BottleneckConfig } from './config.js';
import { placementTargets } from './placements.js';

export function prepareBottleneckConfig(config: BottleneckConfig, tuner: TunerModel): BottleneckConfig {
  if (config.fusionOf !== null) return fusionPlacement(config, tuner);
  checkSameKind(config, tuner);
  const targeted = config.targetModules !== null ? config : { ...config, targetModules: placementTargets(modelType(tuner.model), config.adapterType) };
  return withDroppedLayers(targeted, tuner.model);
}

/** Sequential adapters wrap projections inside the feed-forward module parallel ones wrap, so one model holds one kind. */
function checkSameKind(config: BottleneckConfig, tuner: TunerModel): void {
  for (const [name, other] of tuner.configs) {
    const existing = other as BottleneckConfig;
    if (existing.fusionOf === null && isParallel(existing.adapterType) !== isParallel(config.adapterType)) {
      throw new PeftConfigError(
        `a ${config.adapterType} adapter cannot join adapter '${name}' (${existing.adapterType}): parallel adapters wrap the feed-forward module that sequential ones sit inside; use one kind per model`,
      );
    }
  }
}

/** AdapterDrop: the config restricted to layers with index ≥ drop_lowest_layers. */
function withDroppedLayers(config: BottleneckConfig, model: Module): BottleneckConfig {
  const n = config.dropLowestLayers;
  if (n === 0) return config;
  const present = findTargets(model, { ...config, layersToTransform: null })
    .map((path) => layerIndex(path, config.layersPattern))
    .filter((i): i is number => i !== null);
  const layers = config.layersToTransform ?? [...new Set(present)].sort((a, b) => a - b);
  const kept = layers.filter((i) => i >= n);
  if (kept.length === 0) {
    throw new PeftConfigError(`drop_lowest_layers ${n} drops every adapted layer (their indices are ${layers.join(', ')}); use at most ${Math.max(...layers)}`);
  }
  return { ...config, layersToTransform: kept };
}

/**
 * A fusion sits where the adapters it fuses are, which must exist, be plain adapters and sit in
 * the same layers; it takes their targeting.
 */
function fusionPlacement(config: BottleneckConfig, tuner: TunerModel): BottleneckConfig {
  const fused = config.fusionOf!;
  const configs = fused.map((name) => {
    const c = tuner.configs.get(name) as BottleneckConfig | undefined;
    if (c === undefined) {
      throw new AdapterNameError(`a fusion over adapter '${name}', which does not exist; the adapters are: ${[...tuner.configs.keys()].join(', ') || '(none)'}`);
    }
    if (c.fusionOf !== null) throw new PeftConfigError(`'${name}' is a fusion itself; a fusion attends over plain bottleneck adapters`);
    return c;
  });
  const layersOf = (name: string) => tuner.tunerLayers().filter(([, l]) => l.hasAdapter(name)).map(([p]) => p).join(',');
  const first = layersOf(fused[0]!);
  const apart = fused.filter((name) => layersOf(name) !== first);
  if (apart.length > 0) {
    throw new PeftConfigError(
      `adapters ${apart.map((a) => `'${a}'`).join(', ')} sit in other layers than '${fused[0]}' (another adapter type, layers_to_transform or drop_lowest_layers); a fusion needs its adapters in the same layers`,
    );
  }
  const { targetModules, excludeModules, layersToTransform, layersPattern, adapterType, dropLowestLayers } = configs[0]!;
  return { ...config, targetModules, excludeModules, layersToTransform, layersPattern, adapterType, dropLowestLayers };
}
