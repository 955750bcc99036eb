// What AdaLoRA saves (HF's resize_state_dict_by_rank_pattern): once a rank pattern exists, only the
// kept triplets (rows of A and E, columns of B) are written; loading builds layers of that rank.
import { keep, tensor, tidy, type Tensor } from '../../../tensor/index.js';
import { SAVED_PREFIX } from '../../state-dict.js';
import { PeftConfigError } from '../../errors.js';
import type { AdaLoraConfig } from './config.js';

export function keptTriplets(tensors: Map<string, Tensor>, config: AdaLoraConfig): Map<string, Tensor> {
  if (config.rankPattern === null) return tensors;
  const out = new Map(tensors);
  for (const [key, mask] of Object.entries(config.rankPattern)) {
    const module = SAVED_PREFIX + key.replace(/\.lora_E$/, '');
    const kept = mask.flatMap((k, i) => (k ? [i] : []));
    for (const [suffix, dim] of [['lora_A', 0], ['lora_E', 0], ['lora_B', 1]] as const) {
      const name = `${module}.${suffix}`;
      const t = tensors.get(name);
      if (t === undefined) throw new PeftConfigError(`rank_pattern names '${key}', but the adapter has no ${name}`);
      // A layer loaded with the pattern already has only the kept triplets (HF's rank != shape check).
      if (t.shape[dim] === kept.length) continue;
      out.set(name, keep(tidy(() => t.indexSelect(dim, tensor(kept, [kept.length], 'int64')))));
    }
  }
  return out;
}
