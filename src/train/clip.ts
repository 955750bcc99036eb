// Gradient clipping by global norm: torch.nn.utils.clip_grad_norm_.
import { noGrad, tidy, type Tensor } from '../tensor/index.js';

/**
 * Scales all gradients by min(1, maxNorm / (total + 1e-6)), where total is the norm of the
 * per-parameter gradient norms (p = 2, or Infinity for the largest |g|). Returns total (NaN or Inf
 * when a gradient is; the gradients are then scaled by NaN too, as torch does).
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return 0;
  // Each gradient's temporaries (its squares, its scaled copy) are freed before the next one's exist:
  // held together, LoRA r = 64 on GPT-2 made 70 MB of gradient-sized buffers no activation could reuse.
  return noGrad(() => {
    const norms = grads.map((g) => tidy(() => g.norm(normType).item()));
    const total = normType === Infinity ? Math.max(...norms) : norms.reduce((s, n) => s + n ** normType, 0) ** (1 / normType);
    const coef = Math.min(1, maxNorm / (total + 1e-6));
    if (coef !== 1) for (const g of grads) tidy(() => void g.copy_(g.mul(coef)));
    return total;
  });
}
