// Parameter initialisers (PyTorch's defaults), drawing from the seeded generator.
import { Tensor, rand, randn, zeros, ones, type DType, type Generator } from '../tensor/index.js';

/** torch.nn.Linear's default: kaiming_uniform(a=√5), i.e. U(-1/√fanIn, 1/√fanIn). */
export function linearWeight(outFeatures: number, inFeatures: number, dtype: DType = 'float32', generator?: Generator): Tensor {
  const bound = 1 / Math.sqrt(inFeatures);
  return rand([outFeatures, inFeatures], { low: -bound, high: bound, dtype, generator });
}

export function uniform(shape: number[], bound: number, dtype: DType = 'float32', generator?: Generator): Tensor {
  return rand(shape, { low: -bound, high: bound, dtype, generator });
}

export function normal(shape: number[], std: number, dtype: DType = 'float32', generator?: Generator): Tensor {
  return randn(shape, { std, dtype, generator });
}

export { zeros, ones };
