// AdaLoRA's orthogonality regulariser (HF's AdaLoraModel.forward): it keeps A's rows and B's
// columns near orthonormal so that E acts as singular values. HF adds
// orth_reg_weight · mean over every lora_A and lora_B matrix of ‖AAᵀ − I‖_F and ‖BᵀB − I‖_F
// (the Frobenius norm itself, not its square) to the loss whenever labels give one.
import { eye, type Tensor } from '../../../tensor/index.js';
import type { TunerModel } from '../../tuner-model.js';
import type { PeftModel } from '../../peft-model.js';
import { PeftConfigError } from '../../errors.js';
import { trainableAdapter } from './trainable.js';

/** ‖MᵀM − I‖_F for a matrix whose columns should be orthonormal. */
function gramDistance(m: Tensor): Tensor {
  const gram = m.T.matmul(m);
  return gram.sub(eye(gram.shape[0]!)).norm();
}

/** The weighted regulariser of the trainable adapter; null when there is none (an adapter loaded for inference). */
export function orthogonalLoss(tuner: TunerModel): Tensor | null {
  const adapter = trainableAdapter(tuner);
  if (adapter === null || adapter.layers.length === 0) return null;
  const weight = adapter.config.orthRegWeight;
  if (weight <= 0) throw new PeftConfigError(`orth_reg_weight must be > 0, not ${weight}; HF PEFT's AdaLoRA always adds the regulariser (0.5 is the default)`);
  let total: Tensor | null = null;
  for (const [, layer] of adapter.layers) {
    const terms = gramDistance(layer.lora_A.get(adapter.name)!.T).add(gramDistance(layer.lora_B.get(adapter.name)!));
    total = total === null ? terms : total.add(terms);
  }
  return total!.mul(weight / (2 * adapter.layers.length));
}

/** What PeftModel.forward adds to the loss for AdaLoRA (already included in `forward(...).loss`). */
export function adaloraOrthogonalLoss(peft: PeftModel): Tensor | null {
  return orthogonalLoss(peft.base_model);
}
