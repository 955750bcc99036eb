// Parameter initialisers (PyTorch's defaults), drawing from the seeded generator.
import { Tensor, rand, randn, full, type DType, type Generator } from '../tensor/index.js';

/** torch.nn.Linear's default: kaiming_uniform(a=√5), i.e. U(-1/√fanIn, 1/√fanIn). */
export function linearWeight(outFeatures: number, inFeatures: number, dtype: DType = 'float32', generator?: Generator): Tensor {
  if (skipping) return Tensor.empty([outFeatures, inFeatures], dtype);
  const bound = 1 / Math.sqrt(inFeatures);
  return rand([outFeatures, inFeatures], { low: -bound, high: bound, dtype, generator });
}

export function uniform(shape: number[], bound: number, dtype: DType = 'float32', generator?: Generator): Tensor {
  if (skipping) return Tensor.empty(shape, dtype);
  return rand(shape, { low: -bound, high: bound, dtype, generator });
}

export function normal(shape: number[], std: number, dtype: DType = 'float32', generator?: Generator): Tensor {
  if (skipping) return Tensor.empty(shape, dtype);
  return randn(shape, { std, dtype, generator });
}

export function zeros(shape: number[], dtype: DType = 'float32'): Tensor {
  return skipping ? Tensor.empty(shape, dtype) : full(shape, 0, dtype);
}

export function ones(shape: number[], dtype: DType = 'float32'): Tensor {
  return skipping ? Tensor.empty(shape, dtype) : full(shape, 1, dtype);
}

let skipping = false;

/**
 * Builds modules without drawing random initial values (their parameters hold unspecified
 * memory): for models whose weights are about to be loaded from a checkpoint.
 */
export function withoutInit<T>(build: () => T): T {
  const previous = skipping;
  skipping = true;
  try {
    return build();
  } finally {
    skipping = previous;
  }
}

export function isInitSkipped(): boolean {
  return skipping;
}
