// Initial weights of bottleneck adapters and of fusion layers.
import { eye, noGrad, randn, zeros, type DType } from '../../../tensor/index.js';
import { Linear } from '../../../nn/index.js';
import type { BottleneckInit } from './config.js';

/** Houlsby et al.'s near-identity init: weights ~ N(0, 0.01²), biases zero. */
const NEAR_IDENTITY_STD = 1e-2;
/** The std of the fusion's query and key weights (BERT's initializer range, as Pfeiffer et al.). */
const FUSION_STD = 0.02;

/**
 * The down- and up-projections of one adapter. 'zero' keeps PyTorch's Linear draw for down and
 * zeroes up (the adapter adds exactly nothing); 'random' keeps both draws.
 */
export function bottleneckProjections(features: number, width: number, how: BottleneckInit, dtype: DType): { down: Linear; up: Linear } {
  const down = new Linear(features, width, { dtype });
  const up = new Linear(width, features, { dtype });
  noGrad(() => {
    if (how === 'near_identity') {
      for (const layer of [down, up]) {
        layer.weight.copy_(randn(layer.weight.shape, { std: NEAR_IDENTITY_STD, dtype }));
        layer.bias!.copy_(zeros(layer.bias!.shape, dtype));
      }
    } else if (how === 'zero') {
      up.weight.copy_(zeros(up.weight.shape, dtype));
      up.bias!.copy_(zeros(up.bias!.shape, dtype));
    }
  });
  return { down, up };
}

/**
 * A fusion's query, key and value projections (Pfeiffer et al. 2021): query and key ~ N(0, 0.02²)
 * with zero biases, value the identity, so at init the fusion outputs a (near uniform) mix of
 * the adapters' outputs. 'random' keeps PyTorch's Linear draws for all three (for tests).
 */
export function fusionProjections(features: number, how: BottleneckInit, dtype: DType): { query: Linear; key: Linear; value: Linear } {
  const [query, key, value] = [0, 1, 2].map(() => new Linear(features, features, { dtype })) as [Linear, Linear, Linear];
  if (how !== 'random') {
    noGrad(() => {
      for (const layer of [query, key]) layer.weight.copy_(randn(layer.weight.shape, { std: FUSION_STD, dtype }));
      value.weight.copy_(eye(features, features, dtype));
      for (const layer of [query, key, value]) layer.bias!.copy_(zeros(layer.bias!.shape, dtype));
    });
  }
  return { query, key, value };
}
