// The optimizer core shared by AdamW and SGD: parameter groups with their own hyper-parameters,
// per-parameter state, zeroGrad, and a state dict that restores every bit (checkpoints, resume).
import { Tensor, noGrad, tidy, keep } from '../../tensor/index.js';
import { TrainingArgumentError, CheckpointError } from '../errors.js';

/** Hyper-parameters every group has; optimizers add their own (betas, momentum, ...). */
export interface GroupOptions {
  lr: number;
  weightDecay: number;
}

/** A set of parameters trained with the same hyper-parameters. */
export type ParamGroup<O extends GroupOptions = GroupOptions> = O & {
  params: Tensor[];
  /** The parameters' names (for messages and checkpoint checks), when known. */
  names?: string[];
  /** The lr the schedule multiplies (set by the scheduler the first time it runs). */
  initialLr?: number;
};

/** What a caller passes: plain parameters (one group) or groups overriding some defaults. */
export type ParamsInput<O extends GroupOptions> = Tensor[] | (Partial<O> & { params: Tensor[]; names?: string[] })[];

/** One parameter's state: its step count and its tensors (AdamW's exp_avg, SGD's momentum_buffer). */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

/**
 * torch's layout: groups' hyper-parameters with the indices of their parameters (numbered across
 * groups in order), and the state of each parameter that has one, by that index.
 */
export interface OptimizerStateDict {
  paramGroups: (Record<string, unknown> & { params: number[] })[];
  state: Map<number, ParamState>;
}

export abstract class Optimizer<O extends GroupOptions = GroupOptions> {
  readonly paramGroups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput<O>, defaults: O) {
    const groups = params.length > 0 && params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : (params as ParamGroup<O>[]);
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g, params: [...g.params] }) as ParamGroup<O>);
    const seen = new Set<Tensor>();
    for (const group of this.paramGroups) {
      this.checkGroup(group);
      group.params.forEach((p, i) => {
        const name = group.names?.[i] ?? p.name ?? `parameter ${i}`;
        if (seen.has(p)) throw new TrainingArgumentError(`${name} appears in more than one parameter group; give each parameter one group`);
        seen.add(p);
        if (p.dtype !== 'float32' && p.dtype !== 'float64') {
          throw new TrainingArgumentError(`${name} is ${p.dtype}; optimizers train float32 or float64 parameters (keep frozen weights in bf16, trainable ones in float32)`);
        }
        if (!p.isContiguous() || p.offset !== 0) throw new TrainingArgumentError(`${name} is a strided view; optimizers update whole contiguous parameters`);
      });
    }
  }

  /** Validates one group's hyper-parameters (subclasses add theirs). */
  protected checkGroup(group: ParamGroup<O>): void {
    if (!(group.lr >= 0)) throw new TrainingArgumentError(`lr must be >= 0, not ${group.lr}`);
    if (!(group.weightDecay >= 0)) throw new TrainingArgumentError(`weightDecay must be >= 0, not ${group.weightDecay}`);
  }

  /** Updates `p` in place from `grad` (contiguous, p's dtype) with `state` (created empty). */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;

  /** One update of every parameter that has a gradient (parameters without one are skipped, as in torch). */
  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            if (p.grad === null) continue;
            let state = this.state.get(p);
            if (state === undefined) {
              state = { step: 0, tensors: {} };
              this.state.set(p, state);
            }
            const g = p.grad;
            this.update(p, g.isContiguous() && g.offset === 0 && g.dtype === p.dtype ? g : g.to(p.dtype).contiguous(), group, state);
          }
        }
      }),
    );
  }

  /** Frees every gradient (the next backward allocates them again), as torch's zero_grad(set_to_none=True). */
  zeroGrad(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** A new state tensor for `p`, kept outside every scope. */
  protected newStateTensor(state: ParamState, key: string, init: Tensor): Tensor {
    const t = keep(init);
    state.tensors[key] = t;
    return t;
  }

  /** The groups' hyper-parameters and every parameter's state; the tensors are the live ones (copy to keep). */
  stateDict(): OptimizerStateDict {
    let index = 0;
    const state = new Map<number, ParamState>();
    const paramGroups = this.paramGroups.map(({ params, names: _names, ...hyper }) => {
      const ids = params.map((p) => {
        const s = this.state.get(p);
        if (s !== undefined) state.set(index, s);
        return index++;
      });
      return { ...hyper, params: ids };
    });
    return { paramGroups, state };
  }

  /** Restores a stateDict() (copies its tensors; the groups must hold the same parameters' shapes). */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new CheckpointError(`the optimizer state has ${dict.paramGroups.length} parameter groups but this optimizer has ${this.paramGroups.length}; build it with the same groups`);
    }
    const params = this.paramGroups.flatMap((g) => g.params);
    dict.paramGroups.forEach((saved, i) => {
      if (saved.params.length !== this.paramGroups[i]!.params.length) {
        throw new CheckpointError(`parameter group ${i} had ${saved.params.length} parameters when saved and has ${this.paramGroups[i]!.params.length} now`);
      }
    });
    for (const [index, s] of dict.state) {
      const p = params[index];
      if (p === undefined) throw new CheckpointError(`the optimizer state names parameter ${index}, but there are only ${params.length}`);
      for (const [key, t] of Object.entries(s.tensors)) {
        if (t.shape.join() !== p.shape.join()) {
          throw new CheckpointError(`optimizer state ${index}.${key} has shape [${t.shape}] but parameter ${p.name ?? index} has [${p.shape}]`);
        }
      }
    }
    // Checked in full above: nothing changes unless all of it fits.
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    for (const [index, s] of dict.state) {
      const p = params[index]!;
      const tensors: Record<string, Tensor> = {};
      for (const [key, t] of Object.entries(s.tensors)) tensors[key] = keep(noGrad(() => t.to(p.dtype).clone().contiguous()));
      this.state.set(p, { step: s.step, tensors });
    }
    dict.paramGroups.forEach(({ params: _ids, ...hyper }, i) => Object.assign(this.paramGroups[i]!, hyper));
  }
}
