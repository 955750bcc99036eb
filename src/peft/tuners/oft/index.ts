// OFT (orthogonal fine-tuning, HF PEFT 0.21's block-diagonal Cayley form) as a tuner plug-in,
// registered under peft_type OFT.
import { Conv1D, Linear, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { registerTuner, type TunerMethod } from '../registry.js';
import { LORA_FAMILY_TARGETS } from '../default-targets.js';
import { parseOftConfig, writeOftConfig, type OftConfig } from './config.js';
import { OftLinear } from './layer.js';

export const oft: TunerMethod<OftConfig> = {
  peftType: 'OFT',
  prefix: 'oft_',
  defaultTargets: { targetModules: LORA_FAMILY_TARGETS },
  parseConfig: parseOftConfig,
  writeConfig: writeOftConfig,
  inject(target: Module, path: string, name: string, config: OftConfig): Module {
    if (target instanceof OftLinear) {
      target.updateLayer(name, config, path);
      return target;
    }
    if (target instanceof Linear || target instanceof Conv1D) return new OftLinear(target, name, config, path);
    throw new TargetModulesError(`'${path}' is a ${target.constructor.name}; OFT adapts Linear and Conv1D layers, so name those in target_modules`);
  },
};

registerTuner(oft);

export { OftLinear } from './layer.js';
export { OftRotation, type RotationOptions } from './rotation.js';
export { parseOftConfig, writeOftConfig, type OftConfig, type OftOptions } from './config.js';
