// HF PEFT's _prepare_adapter_config: a config that leaves target_modules (or another field the
// method has defaults for) null takes the value HF's table gives the model's architecture.
import type { Module } from '../nn/index.js';
import { snakeCase } from './config/keys.js';
import type { PeftConfig } from './config/peft-config.js';
import { TargetModulesError } from './errors.js';
import { modelType } from './model-type.js';
import type { TunerMethod } from './tuners/registry.js';

/**
 * `config` with each null field of `method.defaultTargets` filled for `model`'s model_type (each
 * independently, as HF's IA3 does); the config itself when nothing is null. Throws a
 * TargetModulesError when the table has no entry for the model_type.
 */
export function withDefaultTargets<C extends PeftConfig>(config: C, method: TunerMethod<C>, model: Module): C {
  const filled = { ...config } as unknown as Record<string, unknown>;
  const fields = Object.entries(method.defaultTargets ?? {}).filter(([field]) => filled[field] === null);
  if (fields.length === 0) return config;
  const type = modelType(model);
  for (const [field, byModelType] of fields) {
    if (!Object.hasOwn(byModelType, type)) throw noDefault(method.peftType, snakeCase(field), type, byModelType);
    filled[field] = [...byModelType[type]!];
  }
  return filled as unknown as C;
}

function noDefault(peftType: string, key: string, type: string, byModelType: Readonly<Record<string, readonly string[]>>): TargetModulesError {
  const [exampleType, example] = Object.entries(byModelType)[0]!;
  const what = key === 'target_modules' ? `the names (or a regex) of the modules to adapt (${exampleType}'s default: ${JSON.stringify(example)}), or 'all-linear'` : `${exampleType}'s default is ${JSON.stringify(example)}`;
  return new TargetModulesError(
    `${peftType} has no default ${key} for model_type '${type}' (defaults exist for ${Object.keys(byModelType).join(', ')}); set ${key} in the adapter config: ${what}`,
  );
}
