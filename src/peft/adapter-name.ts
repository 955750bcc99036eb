// Adapter names become module field names (lora_A.<name>) and folder names: keep them safe for both.
import { Module } from '../nn/index.js';
import { AdapterNameError } from './errors.js';

/** Names a Module already uses for its own fields and methods (an adapter cannot shadow them). */
function isReserved(name: string): boolean {
  let proto: object | null = Module.prototype;
  while (proto !== null) {
    if (Object.prototype.hasOwnProperty.call(proto, name)) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return ['training', 'bufferNames'].includes(name);
}

export function checkAdapterName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
    throw new AdapterNameError(`adapter name ${JSON.stringify(name)} is not valid: use letters, digits, '_' and '-', starting with a letter or '_'`);
  }
  if (isReserved(name)) throw new AdapterNameError(`adapter name '${name}' is reserved (a Module field or method); pick another name`);
}
