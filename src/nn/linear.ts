// Linear (y = x·Wᵀ + b, W [out, in]) and GPT-2's Conv1D (the same map with W stored [in, out]).
import { Tensor, linear, type DType } from '../tensor/index.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { linearWeight, normal, uniform, zeros } from './init.js';

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
  /** A weight to hold instead of a new one (shared, frozen): the quantised layers' packed data. */
  frozenWeight?: Tensor;
}

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, dtype = 'float32', frozenWeight }: LinearOptions = {},
  ) {
    super();
    this.weight = frozenWeight ? new Parameter(frozenWeight, false) : new Parameter(linearWeight(outFeatures, inFeatures, dtype));
    this.bias = bias ? new Parameter(uniform([outFeatures], 1 / Math.sqrt(inFeatures), dtype)) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** HF's Conv1D (GPT-2): a linear layer whose weight is stored transposed, [in, out]. */
export class Conv1D extends Module {
  weight: Parameter;
  bias: Parameter;

  constructor(
    readonly outFeatures: number,
    readonly inFeatures: number,
    { dtype = 'float32' }: { dtype?: DType } = {},
  ) {
    super();
    this.weight = new Parameter(normal([inFeatures, outFeatures], 0.02, dtype));
    this.bias = new Parameter(zeros([outFeatures], dtype));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight.T, this.bias);
  }

  override extraRepr(): string {
    return `nf=${this.outFeatures}, nx=${this.inFeatures}`;
  }
}
