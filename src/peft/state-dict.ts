// An adapter's weights under the names HF PEFT saves them with: the in-memory path of each
// parameter under base_model.model, without the adapter's name (`lora_A.default.weight` is saved
// as `lora_A.weight`, a modules_to_save copy under the original module's name).
import { Tensor, noGrad, formatShape } from '../tensor/index.js';
import { AdapterWeightsError } from './errors.js';
import type { TunerModel } from './tuner-model.js';

/** Saved names start with this: PeftModel.base_model (the tuner) . model (the HF model). */
export const SAVED_PREFIX = 'base_model.model.';
/** Tensors the tuner itself holds for all layers of an adapter (see TunerMethod.prepareAdapter). */
const TUNER_PREFIX = 'base_model.';

/** The adapter's saved tensors (the live parameters, not copies), by saved name. */
export function adapterStateDict(tuner: TunerModel, name: string): Map<string, Tensor> {
  const config = tuner.requireAdapter(name);
  const out = new Map<string, Tensor>();
  const copyPart = `modules_to_save.${name}.`;
  const layerBiases = new Set(tuner.tunerLayers().map(([, l]) => l.base_layer.bias));
  const prefixes = tuner.method.partPrefixes ?? [tuner.method.prefix];
  for (const [path, p] of tuner.model.namedParameters()) {
    const parts = path.split('.');
    const at = parts.findIndex((part, i) => part === name && i > 0 && prefixes.some((prefix) => parts[i - 1]!.includes(prefix)));
    if (at > 0) {
      const key = parts.filter((_, i) => i !== at).join('.');
      out.set(SAVED_PREFIX + (tuner.method.renameSaved?.(key) ?? key), p);
    } else if (path.includes(copyPart)) {
      out.set(SAVED_PREFIX + path.replace(copyPart, ''), p);
    } else if (isSavedBias(path, p, config.bias, layerBiases)) {
      out.set(SAVED_PREFIX + path, p);
    }
  }
  for (const [key, t] of sharedBuffers(tuner, name)) out.set(key, t);
  return out;
}

/** The tuner's own persistent buffers of adapter `name` (not the model's), by saved name. */
function sharedBuffers(tuner: TunerModel, name: string): [string, Tensor][] {
  return tuner
    .namedBuffers('', true)
    .filter(([path]) => !path.startsWith('model.') && path.split('.').includes(name))
    .map(([path, t]) => [TUNER_PREFIX + path.split('.').filter((part) => part !== name).join('.'), t]);
}

function isSavedBias(path: string, p: Tensor, bias: string | undefined, layerBiases: Set<Tensor | null>): boolean {
  if (path.includes('.modules_to_save.') || path.includes('.original_module.')) return false;
  if (bias === 'all') return path.endsWith('bias');
  return bias !== undefined && bias.endsWith('_only') && layerBiases.has(p);
}

/**
 * Copies saved tensors into adapter `name`'s parameters. Every missing or extra tensor and every
 * shape mismatch is listed in one error, and nothing is copied unless all fit. `own`: the live
 * tensors by saved name, for adapters saved under other names (prompt learning's).
 */
export function loadAdapterStateDict(
  tuner: TunerModel,
  name: string,
  tensors: ReadonlyMap<string, Tensor>,
  source: string,
  own: ReadonlyMap<string, Tensor> = adapterStateDict(tuner, name),
): void {
  const missing = [...own.keys()].filter((k) => !tensors.has(k));
  const extra = [...tensors.keys()].filter((k) => !own.has(k));
  const mismatched = [...tensors]
    .filter(([k, t]) => own.has(k) && own.get(k)!.shape.join() !== t.shape.join())
    .map(([k, t]) => `${k}: file ${formatShape(t.shape)}, model ${formatShape(own.get(k)!.shape)}`);
  if (missing.length + extra.length + mismatched.length > 0) {
    const parts: string[] = [];
    if (mismatched.length) parts.push(`${mismatched.length} shape mismatch(es) (the adapter was made for a model of another size?):\n  ${mismatched.join('\n  ')}`);
    if (missing.length) parts.push(`${missing.length} missing tensor(s): ${missing.join(', ')}`);
    if (extra.length) parts.push(`${extra.length} unexpected tensor(s): ${extra.join(', ')}`);
    if (missing.length === own.size && extra.length === tensors.size) {
      parts.push(`none of the names match: the adapter was made for another architecture (its names look like '${[...tensors.keys()][0]}', this model's like '${[...own.keys()][0]}')`);
    }
    throw new AdapterWeightsError(`${source}: the adapter does not fit the model: ${parts.join('; ')}`);
  }
  noGrad(() => {
    for (const [k, t] of tensors) own.get(k)!.copy_(t);
  });
}
