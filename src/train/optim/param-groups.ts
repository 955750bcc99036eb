// Parameter groups from a model: which trainable parameters get weight decay (HF's Trainer: none
// for biases and LayerNorm/RMSNorm weights), and LoRA+ (Hayou et al., 2024: lora_B learns
// loraplusLrRatio times faster than lora_A), as HF PEFT's create_loraplus_optimizer groups them.
import type { Tensor } from '../../tensor/index.js';
import { LayerNorm, RMSNorm, type Module } from '../../nn/index.js';
import { TrainingArgumentError } from '../errors.js';

export interface ParamGroupOptions {
  lr: number;
  weightDecay?: number;
  /** Which parameters skip weight decay (default: noDecayByDefault). */
  noDecay?: (name: string, owner: Module) => boolean;
  /** LoRA+: lora_B (and 1-D parameters) train at lr × this ratio (the paper suggests 16). */
  loraplusLrRatio?: number;
  /** LoRA+: the lr of lora_embedding_A/B (HF's default 1e-6). */
  loraplusLrEmbedding?: number;
}

export interface NamedParamGroup {
  params: Tensor[];
  names: string[];
  lr: number;
  weightDecay: number;
}

// HF Trainer.get_decay_parameter_names: parameters of LayerNorm modules, and names with bias or a norm in them.
const NO_DECAY_NAME = /bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)/i;

/** HF's rule: no weight decay for biases and for LayerNorm/RMSNorm weights. */
export function noDecayByDefault(name: string, owner: Module): boolean {
  return owner instanceof LayerNorm || owner instanceof RMSNorm || NO_DECAY_NAME.test(name);
}

/** The trainable parameters of `model` with their paths and owning modules. */
function trainable(model: Module): { name: string; param: Tensor; owner: Module }[] {
  const owners = new Map<Tensor, Module>();
  for (const [, m] of model.namedModules()) for (const [, p] of m.ownParameters()) if (!owners.has(p)) owners.set(p, m);
  return model.namedParameters().filter(([, p]) => p.requiresGrad).map(([name, param]) => ({ name, param, owner: owners.get(param)! }));
}

/**
 * Groups of the model's trainable parameters: [decayed, not decayed] or, with loraplusLrRatio,
 * HF PEFT's LoRA+ groups [A and the rest, embeddings, B decayed, B not decayed]. Empty groups are left out.
 */
export function parameterGroups(model: Module, options: ParamGroupOptions): NamedParamGroup[] {
  const { lr, weightDecay = 0, noDecay = noDecayByDefault, loraplusLrRatio, loraplusLrEmbedding = 1e-6 } = options;
  const params = trainable(model);
  if (params.length === 0) throw new TrainingArgumentError('the model has no trainable parameter; add an adapter (getPeftModel) or set requiresGrad on what should train');
  const group = (members: typeof params, groupLr: number, decay: number): NamedParamGroup => ({
    params: members.map((m) => m.param), names: members.map((m) => m.name), lr: groupLr, weightDecay: decay,
  });
  const decays = (m: (typeof params)[number]) => !noDecay(m.name, m.owner);
  let groups: NamedParamGroup[];
  if (loraplusLrRatio === undefined) {
    groups = [group(params.filter(decays), lr, weightDecay), group(params.filter((m) => !decays(m)), lr, 0)];
  } else {
    if (!(loraplusLrRatio > 0)) throw new TrainingArgumentError(`loraplusLrRatio must be > 0 (16 in the LoRA+ paper), not ${loraplusLrRatio}`);
    const isEmbedding = (m: (typeof params)[number]) => /lora_embedding_[AB]/.test(m.name);
    const isB = (m: (typeof params)[number]) => !isEmbedding(m) && (m.name.includes('lora_B') || m.param.ndim === 1);
    // HF decays group A (the rest) whatever the names say; only group B is split.
    groups = [
      group(params.filter((m) => !isEmbedding(m) && !isB(m)), lr, weightDecay),
      group(params.filter(isEmbedding), loraplusLrEmbedding, weightDecay),
      group(params.filter((m) => isB(m) && decays(m)), lr * loraplusLrRatio, weightDecay),
      group(params.filter((m) => isB(m) && !decays(m)), lr * loraplusLrRatio, 0),
    ];
  }
  return groups.filter((g) => g.params.length > 0);
}
