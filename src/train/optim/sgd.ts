// SGD with momentum, dampening, Nesterov and (coupled, L2) weight decay: torch.optim.SGD's rule.
import { type Tensor } from '../../tensor/index.js';
import { TrainingArgumentError } from '../errors.js';
import { Optimizer, type GroupOptions, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface SGDOptions extends GroupOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** torch.optim.SGD's defaults (lr has none there; 1e-3 here). */
export const SGD_DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 };

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, { ...SGD_DEFAULTS, ...options });
  }

  protected override checkGroup(group: ParamGroup<SGDOptions>): void {
    super.checkGroup(group);
    if (!(group.momentum >= 0)) throw new TrainingArgumentError(`SGD momentum must be >= 0, not ${group.momentum}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new TrainingArgumentError(`Nesterov momentum needs momentum > 0 and dampening 0 (got momentum ${group.momentum}, dampening ${group.dampening})`);
    }
  }

  // d = g + wd·p; buf = d at the first step, else momentum·buf + (1 − dampening)·d;
  // d = d + momentum·buf (Nesterov) or buf; p = p − lr·d.
  protected update(p: Tensor, grad: Tensor, group: ParamGroup<SGDOptions>, state: ParamState): void {
    state.step += 1;
    let d = group.weightDecay !== 0 ? grad.add(p.mul(group.weightDecay)) : grad;
    if (group.momentum !== 0) {
      const previous = state.tensors.momentum_buffer;
      const buf = previous === undefined
        ? this.newStateTensor(state, 'momentum_buffer', d.clone())
        : previous.copy_(previous.mul(group.momentum).add(d.mul(1 - group.dampening)));
      d = group.nesterov ? d.add(buf.mul(group.momentum)) : buf;
    }
    p.copy_(p.sub(d.mul(group.lr)));
  }
}
