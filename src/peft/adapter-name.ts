// Adapter names become module field names (lora_A.<name>) and folder names: keep them safe for both.
import { ModuleDict, ParameterDict } from '../nn/index.js';
import { AdapterNameError } from './errors.js';

/** Names the per-adapter dictionaries use for their own fields and methods (an adapter cannot shadow them). */
function isReserved(name: string): boolean {
  return name in new ModuleDict() || name in new ParameterDict();
}

export function checkAdapterName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
    throw new AdapterNameError(`adapter name ${JSON.stringify(name)} is not valid: use letters, digits, '_' and '-', starting with a letter or '_'`);
  }
  if (isReserved(name)) throw new AdapterNameError(`adapter name '${name}' is reserved (a Module field or method); pick another name`);
}
