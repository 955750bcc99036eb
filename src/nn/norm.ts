// Normalisation layers: LayerNorm, and RMSNorm as Llama, Qwen2, Mistral and T5 compute it.
import { Tensor, layerNorm, rmsNorm, type DType } from '../tensor/index.js';
import { ones, zeros } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(
    readonly normalizedShape: number,
    readonly eps = 1e-5,
    { elementwiseAffine = true, bias = true, dtype = 'float32' }: { elementwiseAffine?: boolean; bias?: boolean; dtype?: DType } = {},
  ) {
    super();
    this.weight = elementwiseAffine ? new Parameter(ones([normalizedShape], dtype)) : null;
    this.bias = elementwiseAffine && bias ? new Parameter(zeros([normalizedShape], dtype)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape},), eps=${this.eps}`;
  }
}

/** y = w · x / √(mean(x²) + eps), computed in float32 (HF's LlamaRMSNorm and T5LayerNorm). */
export class RMSNorm extends Module {
  weight: Parameter;

  constructor(
    readonly hiddenSize: number,
    readonly eps = 1e-6,
    { dtype = 'float32' }: { dtype?: DType } = {},
  ) {
    super();
    this.weight = new Parameter(ones([hiddenSize], dtype));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `(${this.hiddenSize},), eps=${this.eps}`;
  }
}
