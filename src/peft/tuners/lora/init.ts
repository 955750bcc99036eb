// LoRA's initialisations, as HF PEFT's init_lora_weights: true (A kaiming-uniform, B zero: the
// adapter starts as the identity), 'gaussian' (A ~ N(0, 1/r)), false (B random too: for tests),
// PiSSA (A and B from the top-r singular triplets of W, which loses them) and LoftQ (loftq.ts).
import { noGrad, truncatedSvd, randn, zeros } from '../../../tensor/index.js';
import type { LoraInit } from './config.js';
import type { LoraLinear } from './layer.js';
import { isQuantizedLinear } from '../../../quant/linear.js';
import { PeftConfigError } from '../../errors.js';
import { loftqInit, type LoftqConfig } from './loftq.js';

export function initLoraWeights(layer: LoraLinear, name: string, init: LoraInit, loftq: LoftqConfig | null): void {
  const a = layer.lora_A.get(name)!;
  const b = layer.lora_B.get(name)!;
  const r = layer.ranks.get(name)!;
  noGrad(() => {
    if (init === false) return;
    // For true, A keeps the kaiming-uniform draw every Linear starts with (torch's default, as HF).
    if (init === 'gaussian') {
      a.weight.copy_(randn(a.weight.shape, { std: 1 / r }));
    } else if (init === 'loftq') {
      loftqInit(layer, name, loftq ?? { loftqBits: 4, loftqIter: 1 });
      return;
    } else if (init !== true) {
      pissaInit(layer, name);
      return;
    }
    b.weight.copy_(zeros(b.weight.shape));
    if (b.bias !== null) b.bias.copy_(zeros(b.bias.shape));
  });
}

/**
 * PiSSA: W = U S Vᵀ; A = √S_r·V_rᵀ, B = U_r·√S_r (S_r divided by the scaling so that s·BA is the
 * top-r part), and W keeps the residual W − s·BA. peftjs uses an exact SVD for 'pissa_niter_N' too
 * (HF's randomised one approximates the same factors).
 */
function pissaInit(layer: LoraLinear, name: string): void {
  if (isQuantizedLinear(layer.base_layer)) {
    // HF PEFT's pissa_init refuses quantised weights the same way.
    throw new PeftConfigError('PiSSA initialisation needs the base weights in float32, float16 or bfloat16: initialise it on the unquantised model, then quantise the residual model');
  }
  const s = layer.scaling.get(name)!;
  const r = layer.ranks.get(name)!;
  const weight = layer.baseWeightOutIn().to('float32');
  const { U, S, Vh } = truncatedSvd(weight, r);
  const root = S.div(s).sqrt();
  layer.lora_A.get(name)!.weight.copy_(Vh.mul(root.unsqueeze(1)));
  layer.lora_B.get(name)!.weight.copy_(U.mul(root.unsqueeze(0)));
  const residual = layer.baseWeightOutIn().sub(layer.deltaOutIn(name));
  layer.baseWeightOutIn().copy_(residual);
}
