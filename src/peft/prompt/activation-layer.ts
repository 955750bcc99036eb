// A parameterless activation as a module, so an MLP is a Sequential with torch's indices
// (mlp_head.0, mlp_head.2, ... are the linear layers; 1, 3 the activations).
import type { Tensor } from '../../tensor/index.js';
import { Module, type Activation } from '../../nn/index.js';

export class ActivationLayer extends Module {
  constructor(private readonly fn: Activation) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
