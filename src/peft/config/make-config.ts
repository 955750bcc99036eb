// Adapter configs from what users write (camelCase options) or from adapter_config.json, through
// the one parser each method has, so both are validated and defaulted the same way.
import { getTuner, type TunerMethod } from '../tuners/registry.js';
import type { PeftConfig } from './peft-config.js';
import { optionsToJson, snakeCase } from './keys.js';
import type { Json } from './base.js';
import { PeftConfigError } from '../errors.js';

/** Options as users write them: `{ peftType: 'LORA', r: 8, targetModules: ['q_proj'] }`. */
export type AdapterOptions = { peftType: string } & Record<string, unknown>;

/** A full config (as `parseConfig` returns) or options. */
export type ConfigInput = PeftConfig | AdapterOptions;

function isFullConfig(input: ConfigInput): input is PeftConfig {
  return 'extra' in input && typeof input.extra === 'object';
}

export function makeConfig(input: ConfigInput): { method: TunerMethod; config: PeftConfig } {
  if (typeof input.peftType !== 'string') {
    throw new PeftConfigError(`an adapter config needs peftType (e.g. 'LORA'); got ${JSON.stringify(input.peftType)}`);
  }
  const method = getTuner(input.peftType);
  if (isFullConfig(input)) return { method, config: method.parseConfig(method.writeConfig(input) as Json, `${input.peftType} config`) };
  const { peftType, ...options } = input;
  const raw = { ...optionsToJson(options), peft_type: peftType };
  const config = method.parseConfig(raw, `${peftType} options`);
  const unknown = Object.keys(options).filter((k) => snakeCase(k) in config.extra);
  if (unknown.length > 0) {
    throw new PeftConfigError(`unknown ${peftType} option(s): ${unknown.join(', ')}; check the spelling against the ${peftType} config fields`);
  }
  return { method, config };
}

/** Parses adapter_config.json with the parser its peft_type names. */
export function configFromJson(raw: Json, path: string): { method: TunerMethod; config: PeftConfig } {
  if (typeof raw.peft_type !== 'string') throw new PeftConfigError(`${path}: peft_type is missing; it names the method ('LORA', 'IA3', ...)`);
  const method = getTuner(raw.peft_type);
  return { method, config: method.parseConfig(raw, path) };
}
