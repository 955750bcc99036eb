// Which rows or columns of a projection belong to the chosen attention heads. Heads are head_dim
// wide; a fused projection (GPT-2's c_attn: q, k and v side by side) holds each head once per
// section, and a grouped-query k/v projection holds one slice per group of query heads (head h
// selects the k/v slice h / group).
import { PeftConfigError, TargetModulesError } from '../../errors.js';
import { layerIndex, matchesModule } from '../../target.js';
import type { TunerLayer } from '../tuner-layer.js';
import type { StructuredMaskConfig } from './config.js';

export interface HeadGeometry {
  numHeads: number;
  headDim: number;
}

/** The rows (axis 'out') or columns (axis 'in') of the weight, as [out, in], that train. */
export interface Selection {
  axis: 'out' | 'in';
  index: number[];
}

/** num_attention_heads and head_dim from a config.json (Llama/BERT/T5 and GPT-2 names). */
export function headGeometry(modelConfig: Record<string, unknown>): HeadGeometry {
  const num = (...keys: string[]) => keys.map((k) => modelConfig[k]).find((v): v is number => typeof v === 'number');
  const numHeads = num('num_attention_heads', 'n_head', 'num_heads');
  const hidden = num('hidden_size', 'n_embd', 'd_model');
  const headDim = num('head_dim', 'd_kv') ?? (numHeads !== undefined && hidden !== undefined ? hidden / numHeads : undefined);
  if (numHeads === undefined || headDim === undefined || !Number.isInteger(headDim)) {
    throw new PeftConfigError(`heads_to_transform needs the model's number of attention heads and head size; its config.json has neither num_attention_heads/n_head nor head_dim: use layers_to_transform instead`);
  }
  return { numHeads, headDim };
}

/** The selection of `layer` (at `path`) for the config's heads; null when whole weights train. */
export function headSelection(layer: TunerLayer | { inFeatures: number; outFeatures: number }, path: string, config: StructuredMaskConfig, geometry: HeadGeometry): Selection | null {
  if (config.headsToTransform === null) return null;
  const index = layerIndex(path, config.layersPattern);
  const heads = index === null ? undefined : config.headsToTransform[index];
  if (heads === undefined) throw new TargetModulesError(`'${path}' is in no layer of heads_to_transform ${JSON.stringify(config.headsToTransform)}`);
  const axis = matchesModule(path, config.headInputModules) ? 'in' : 'out';
  const features = axis === 'in' ? layer.inFeatures : layer.outFeatures;
  const { numHeads, headDim } = geometry;
  if (features % headDim !== 0) {
    throw new TargetModulesError(`'${path}' has ${features} ${axis === 'in' ? 'input' : 'output'} features, not a multiple of the head size ${headDim}; target only attention projections with heads_to_transform`);
  }
  const slices = features / headDim;
  // Fused q/k/v: each head once per section. Grouped-query k/v: fewer heads, each shared by a group.
  const sections = slices > numHeads && slices % numHeads === 0 ? slices / numHeads : 1;
  const group = slices < numHeads && numHeads % slices === 0 ? numHeads / slices : 1;
  const headsHere = (slices / sections) * group;
  const outside = heads.filter((h) => h >= headsHere);
  if (outside.length > 0) {
    throw new PeftConfigError(
      `heads_to_transform: layer ${index} has no head ${outside.join(', ')}: '${path}' serves ${headsHere} heads (0 to ${headsHere - 1}); pick heads in that range`,
    );
  }
  const slicesHere = [...new Set(heads.map((h) => Math.floor(h / group)))];
  const rows: number[] = [];
  for (let section = 0; section < sections; section++) {
    for (const h of slicesHere) for (let i = 0; i < headDim; i++) rows.push((section * (slices / sections) + h) * headDim + i);
  }
  return { axis, index: rows };
}
