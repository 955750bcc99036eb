// Bottleneck adapters as a tuner plug-in (peftjs's own peft_type BOTTLENECK): Houlsby, Pfeiffer,
// parallel and scaled parallel adapters, AdapterFusion (addFusion) and AdapterDrop.
import type { Linear, Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { isLinearLayer } from '../../target.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { isParallel, parseBottleneckConfig, writeBottleneckConfig, type BottleneckConfig } from './config.js';
import { BottleneckLayer } from './layer.js';
import { feedForwardWidth, type WrappedModule } from './module-layer.js';
import { prepareBottleneckConfig } from './prepare.js';

/** A new layer around `target`: its output projection (sequential) or its feed-forward block (parallel). */
function wrap(target: Module, path: string, parallel: boolean): BottleneckLayer {
  // Also another method's layer around a linear one (adapters of several methods on one base).
  if (isLinearLayer(target)) return new BottleneckLayer(target as WrappedModule, (target as Linear).outFeatures, parallel);
  const width = feedForwardWidth(target);
  if (!parallel || width === null || typeof (target as unknown as Partial<WrappedModule>).forward !== 'function') {
    const wants = parallel ? 'a feed-forward module (with forward and linear layers, its output as wide as its input)' : 'a Linear or Conv1D output projection';
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; a ${parallel ? 'parallel' : 'sequential'} bottleneck adapter wraps ${wants}`);
  }
  return new BottleneckLayer(target as WrappedModule, width, true);
}

export const bottleneck: TunerMethod<BottleneckConfig> = {
  peftType: 'BOTTLENECK',
  prefix: 'bottleneck_',
  parseConfig: parseBottleneckConfig,
  writeConfig: writeBottleneckConfig,
  prepareConfig: prepareBottleneckConfig,
  inject(target: Module, path: string, name: string, config: BottleneckConfig): Module {
    if (config.fusionOf !== null) {
      if (!(target instanceof BottleneckLayer)) throw new TargetModulesError(`'${path}' has no bottleneck adapters for fusion '${name}' to attend over`);
      target.addFusion(name, config.fusionOf, config.initWeights, path);
      return target;
    }
    const layer = target instanceof BottleneckLayer ? target : wrap(target, path, isParallel(config.adapterType));
    layer.addAdapter(name, config, path);
    return layer;
  },
};

registerTuner(bottleneck);

export { BottleneckLayer, type BottleneckAdapterOptions } from './layer.js';
export { ModuleTunerLayer, feedForwardWidth, isResidualOutput, type WrappedModule, type ResidualOutputModule } from './module-layer.js';
export { addFusion } from './fusion.js';
export {
  parseBottleneckConfig, writeBottleneckConfig, ADAPTER_TYPES, NON_LINEARITIES, INIT_WEIGHTS,
  type BottleneckConfig, type BottleneckOptions, type AdapterType, type NonLinearity, type BottleneckInit,
} from './config.js';
