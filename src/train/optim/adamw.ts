// AdamW (Loshchilov & Hutter) on the fused native kernel: PyTorch's single-tensor AdamW, one pass
// over each parameter for the decay, both moments and the update.
import { native, zerosLike, type Tensor } from '../../tensor/index.js';
import type { FloatArray } from '../../tensor/native/nn.js';
import { TrainingArgumentError } from '../errors.js';
import { Optimizer, type GroupOptions, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface AdamWOptions extends GroupOptions {
  betas: [number, number];
  eps: number;
}

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS: AdamWOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 };

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamsInput<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super(params, { ...ADAMW_DEFAULTS, ...options });
  }

  protected override checkGroup(group: ParamGroup<AdamWOptions>): void {
    super.checkGroup(group);
    const [b1, b2] = group.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new TrainingArgumentError(`AdamW betas must be in [0, 1), not [${b1}, ${b2}]`);
    if (!(group.eps >= 0)) throw new TrainingArgumentError(`AdamW eps must be >= 0, not ${group.eps}`);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<AdamWOptions>, state: ParamState): void {
    const m = state.tensors.exp_avg ?? this.newStateTensor(state, 'exp_avg', zerosLike(p));
    const v = state.tensors.exp_avg_sq ?? this.newStateTensor(state, 'exp_avg_sq', zerosLike(p));
    state.step += 1;
    const [beta1, beta2] = group.betas;
    native.adamw(p.buffer as FloatArray, grad.buffer as FloatArray, m.buffer as FloatArray, v.buffer as FloatArray,
      p.size, group.lr, beta1, beta2, group.eps, group.weightDecay, state.step);
  }
}
