// The shared base's own dropout (GPT-2's attn/resid/embd_pdrop, Llama's attention_dropout): a joint
// forward draws it once over every job's rows, not from each job's random stream, so no job would
// end where it ends alone. MultiTrainer refuses such a base before anything runs.
import { Dropout, type Module } from '../../nn/index.js';
import { TunerLayer } from '../../peft/index.js';

/** Where the base's own dropout is active, as "path p = value" (adapters' own dropout left out). */
export function activeBaseDropout(model: Module & { config?: unknown }): string[] {
  const modules = [...model.namedModules()];
  const adapters = modules.filter(([, m]) => m instanceof TunerLayer).map(([path]) => `${path}.`);
  const found = modules
    .filter(([path, m]) => m instanceof Dropout && m.p > 0 && !adapters.some((prefix) => path.startsWith(prefix)))
    .map(([path, m]) => `${path} p = ${(m as Dropout).p}`);
  const attention = (model.config as { attention_dropout?: number } | undefined)?.attention_dropout ?? 0;
  if (attention > 0) found.push(`attention_dropout = ${attention}`);
  return found;
}
