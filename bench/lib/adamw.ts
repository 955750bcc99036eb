// A minimal AdamW over a list of float32 parameters, on the fused native kernel (PyTorch's
// single-tensor AdamW). For benchmarks until the library has its optimizers (src/train).
import { Tensor, native, zeros } from '../../src/index.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  private readonly state: { m: Tensor; v: Tensor }[];
  private step = 0;

  constructor(
    private readonly params: Tensor[],
    private readonly options: AdamWOptions = {},
  ) {
    for (const p of params) {
      if (p.dtype !== 'float32' || !p.isContiguous() || p.offset !== 0) throw new Error('AdamW (bench): parameters must be contiguous float32');
    }
    this.state = params.map((p) => ({ m: zeros(p.shape), v: zeros(p.shape) }));
  }

  /** One update of every parameter that has a gradient. */
  update(): void {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0.01 } = this.options;
    this.step++;
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      const grad = g.isContiguous() && g.offset === 0 ? g : g.contiguous();
      const { m, v } = this.state[i]!;
      native.adamw(p.buffer as Float32Array, grad.buffer as Float32Array, m.buffer as Float32Array, v.buffer as Float32Array,
        p.size, lr, betas[0], betas[1], eps, weightDecay, this.step);
      if (grad !== g) grad.dispose();
    });
  }

  /** Frees every gradient (the next backward allocates them again). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
}
