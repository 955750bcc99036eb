// The layers whose biases a BitFit adapter trains: every Linear, Conv1D and LayerNorm with a bias
// (or those target_modules names), except exclude_modules, layers outside layers_to_transform and
// anything inside modules_to_save (those train in full).
import { Conv1D, LayerNorm, Linear, type Module } from '../../../nn/index.js';
import { TargetModulesError } from '../../errors.js';
import { adaptableModules, layerIndex, matchesModule } from '../../target.js';
import type { BitfitConfig } from './config.js';
import { BitfitLayer } from './layer.js';

function hasBias(m: Module): boolean {
  if (m instanceof BitfitLayer) return true;
  return (m instanceof Linear || m instanceof Conv1D || m instanceof LayerNorm) && m.bias !== null;
}

/** True when `path` or one of its ancestors is named by modules_to_save. */
function insideModulesToSave(path: string, modulesToSave: string[] | null): boolean {
  if (modulesToSave === null) return false;
  const parts = path.split('.');
  return parts.some((_, i) => matchesModule(parts.slice(0, i + 1).join('.'), modulesToSave));
}

export function bitfitTargets(model: Module, config: BitfitConfig): string[] {
  const out: string[] = [];
  for (const [path, module] of adaptableModules(model)) {
    if (path === '' || insideModulesToSave(path, config.modulesToSave)) continue;
    if (config.targetModules !== null && !matchesModule(path, config.targetModules)) continue;
    if (config.excludeModules !== null && matchesModule(path, config.excludeModules)) continue;
    if (config.layersToTransform !== null) {
      const index = layerIndex(path, config.layersPattern);
      if (index === null || !config.layersToTransform.includes(index)) continue;
    }
    if (hasBias(module)) {
      out.push(path);
    } else if (config.targetModules !== null && typeof config.targetModules !== 'string') {
      throw new TargetModulesError(`'${path}' is a ${module.constructor.name} without a bias BitFit can tune; name Linear, Conv1D or LayerNorm layers with biases in target_modules`);
    }
  }
  if (out.length === 0) {
    throw new TargetModulesError(`BitFit found no layer with a bias to tune for target_modules ${JSON.stringify(config.targetModules)}; name Linear, Conv1D or LayerNorm layers with biases, or leave target_modules null for all`);
  }
  return out;
}
