// BitFit (Ben Zaken et al. 2022: only the biases train) as a tuner plug-in, registered under
// peft_type BITFIT. Saved names are the model's own bias names under base_model.model.
import type { Module } from '../../../nn/index.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { parseBitfitConfig, writeBitfitConfig, type BitfitConfig } from './config.js';
import { BitfitLayer, type BiasedLayer } from './layer.js';
import { bitfitTargets } from './targets.js';

export const bitfit: TunerMethod<BitfitConfig> = {
  peftType: 'BITFIT',
  prefix: 'bitfit_',
  parseConfig: parseBitfitConfig,
  writeConfig: writeBitfitConfig,
  selectTargets: bitfitTargets,
  inject(target: Module, _path: string, name: string): Module {
    if (target instanceof BitfitLayer) {
      target.updateLayer(name);
      return target;
    }
    return new BitfitLayer(target as BiasedLayer, name);
  },
  renameSaved: (key) => key.replace(/\.bitfit_bias$/, '.bias'),
};

registerTuner(bitfit);

export { BitfitLayer, type BiasedLayer } from './layer.js';
export { bitfitTargets } from './targets.js';
export { parseBitfitConfig, writeBitfitConfig, type BitfitConfig, type BitfitOptions } from './config.js';
