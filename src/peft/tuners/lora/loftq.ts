// LoftQ initialisation (Li et al. 2023), as HF PEFT's init_lora_weights="loftq"
// (peft/utils/loftq_utils.py loftq_init and _low_rank_decomposition, lora/layer.py loftq_init),
// on the CPU: HF runs its 4-bit path on CUDA only. Alternately quantise W - L·R to NF4 and
// take the top-r SVD of W - Q: A = √S_r·V_rᵀ, B = U_r·√S_r (no division by the scaling, as HF);
// the base weight becomes the dequantised Q, which quantising again reproduces.
import { Tensor, noGrad, truncatedSvd } from '../../../tensor/index.js';
import { Conv1D } from '../../../nn/index.js';
import { dequantizeState4, quantizeState4 } from '../../../quant/functional.js';
import { isQuantizedLinear } from '../../../quant/linear.js';
import { PeftConfigError } from '../../errors.js';
import type { LoraLinear } from './layer.js';

/** HF's LoftQConfig: loftq_bits (4 here), loftq_iter (alternating steps, >= 1). */
export interface LoftqConfig {
  loftqBits: number;
  loftqIter: number;
}

/** bitsandbytes' Params4bit defaults, which HF's loftq_init quantises with. */
const NF4 = { quantType: 'nf4', blockSize: 64, doubleQuant: false } as const;

function nf4RoundTrip(w: Tensor): Tensor {
  const values = w.contiguous().data<'float32'>();
  return Tensor.fromArray(dequantizeState4(quantizeState4(values, w.shape, NF4)), w.shape, 'float32');
}

export function loftqInit(layer: LoraLinear, name: string, { loftqBits, loftqIter }: LoftqConfig): void {
  const base = layer.base_layer;
  if (isQuantizedLinear(base)) {
    throw new PeftConfigError(
      "init_lora_weights 'loftq' needs the base weights in full precision (as HF PEFT): load the model without quantization, " +
        'create the adapter, save the base (model.savePretrained) and load that quantised for training',
    );
  }
  if (base instanceof Conv1D) throw new PeftConfigError("init_lora_weights 'loftq' takes Linear layers; GPT-2's Conv1D layers are not supported (as in HF PEFT)");
  if (loftqBits !== 4) throw new PeftConfigError(`loftq_bits ${loftqBits} is not supported; peftjs quantises LoftQ's base with bitsandbytes' NF4 (loftq_bits: 4)`);
  if (!Number.isInteger(loftqIter) || loftqIter <= 0) throw new PeftConfigError(`loftq_iter must be a positive integer, not ${loftqIter}`);
  const r = layer.ranks.get(name)!;
  noGrad(() => {
    const weight = base.weight.to('float32');
    let residual = weight;
    let dequantized: Tensor | null = null;
    let A: Tensor | null = null;
    let B: Tensor | null = null;
    for (let i = 0; i < loftqIter; i++) {
      dequantized = nf4RoundTrip(residual);
      const { U, S, Vh } = truncatedSvd(weight.sub(dequantized), r);
      const root = S.sqrt();
      B = U.mul(root.unsqueeze(0));
      A = Vh.mul(root.unsqueeze(1));
      residual = weight.sub(B.matmul(A));
    }
    layer.lora_A.get(name)!.weight.copy_(A!);
    layer.lora_B.get(name)!.weight.copy_(B!);
    base.weight.copy_(dequantized!);
  });
}
