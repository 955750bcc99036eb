// LoftQ initialisation (Li et al. 2023), as HF PEFT's init_lora_weights="loftq"
// (peft/utils/loftq_utils.py loftq_init and _low_rank_decomposition, lora/layer.py loftq_init),
// on the CPU: HF runs its 4-bit path on CUDA only. Alternately quantise W - L·R and take the top-r
// SVD of W - Q: A = √S_r·V_rᵀ, B = U_r·√S_r (no division by the scaling, as HF); the base weight
// becomes the dequantised Q. 4 bits: bitsandbytes' NF4 (block 64, no double quantisation: HF's path
// when bitsandbytes is installed), which quantising again reproduces; 2 and 8 bits: HF's NFQuantizer
// (src/quant/nf-quantizer.ts). GPT-2's Conv1D (weight stored [in, out]) is decomposed as the linear
// [out, in] it is, the orientation transformers quantises it in and lora_A / lora_B are shaped for;
// HF PEFT passes the stored [in, out] weight, which gives A and B of the wrong shapes.
import { Tensor, noGrad, truncatedSvd } from '../../../tensor/index.js';
import { Conv1D } from '../../../nn/index.js';
import { dequantizeState4, quantizeState4 } from '../../../quant/functional.js';
import { isQuantizedLinear } from '../../../quant/linear.js';
import { NF_QUANTIZER_BITS, NF_QUANTIZER_BLOCK, nfQuantizerRoundTrip } from '../../../quant/nf-quantizer.js';
import { PeftConfigError } from '../../errors.js';
import type { LoraLinear } from './layer.js';

/** HF's LoftQConfig: loftq_bits (2, 4 or 8), loftq_iter (alternating steps, >= 1). */
export interface LoftqConfig {
  loftqBits: number;
  loftqIter: number;
}

/** bitsandbytes' Params4bit defaults, which HF's loftq_init quantises with. */
const NF4 = { quantType: 'nf4', blockSize: 64, doubleQuant: false } as const;

/** quantise → dequantise of w [out, in] at `bits`, as HF's loftq_init does it. */
function roundTrip(w: Tensor, bits: number): Tensor {
  const values = w.contiguous().data<'float32'>();
  const [rows, cols] = w.shape as [number, number];
  const dequantized =
    bits === 4 ? dequantizeState4(quantizeState4(values, w.shape, NF4)) : nfQuantizerRoundTrip(values, rows, cols, bits);
  return Tensor.fromArray(dequantized, w.shape, 'float32');
}

export function loftqInit(layer: LoraLinear, name: string, { loftqBits, loftqIter }: LoftqConfig): void {
  const base = layer.base_layer;
  if (isQuantizedLinear(base)) {
    throw new PeftConfigError(
      "init_lora_weights 'loftq' needs the base weights in full precision (as HF PEFT): load the model without quantization, " +
        'create the adapter, save the base (model.savePretrained) and load that quantised for training',
    );
  }
  if (!(NF_QUANTIZER_BITS as readonly number[]).includes(loftqBits)) {
    throw new PeftConfigError(`loftq_bits must be 2, 4 or 8 (as HF PEFT's loftq_init), not ${loftqBits}`);
  }
  const [out, inFeatures] = base instanceof Conv1D ? [base.weight.shape[1]!, base.weight.shape[0]!] : base.weight.shape;
  if (loftqBits !== 4 && (out! * inFeatures!) % NF_QUANTIZER_BLOCK !== 0) {
    throw new PeftConfigError(
      `loftq_bits ${loftqBits} quantises in blocks of ${NF_QUANTIZER_BLOCK} elements: ${name}'s weight ${out} x ${inFeatures} is not a whole number of blocks (HF PEFT refuses it too); use loftq_bits 4`,
    );
  }
  if (!Number.isInteger(loftqIter) || loftqIter <= 0) throw new PeftConfigError(`loftq_iter must be a positive integer, not ${loftqIter}`);
  const r = layer.ranks.get(name)!;
  noGrad(() => {
    const conv = base instanceof Conv1D;
    const weight = conv ? base.weight.to('float32').transpose(0, 1).contiguous() : base.weight.to('float32');
    let residual = weight;
    let dequantized: Tensor | null = null;
    let A: Tensor | null = null;
    let B: Tensor | null = null;
    for (let i = 0; i < loftqIter; i++) {
      dequantized = roundTrip(residual, loftqBits);
      const { U, S, Vh } = truncatedSvd(weight.sub(dequantized), r);
      const root = S.sqrt();
      B = U.mul(root.unsqueeze(0));
      A = Vh.mul(root.unsqueeze(1));
      residual = weight.sub(B.matmul(A));
    }
    layer.lora_A.get(name)!.weight.copy_(A!);
    layer.lora_B.get(name)!.weight.copy_(B!);
    base.weight.copy_(conv ? dequantized!.transpose(0, 1) : dequantized!);
  });
}
