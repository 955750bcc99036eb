// Activation functions by the names Hugging Face configs use (ACT2FN).
import { Tensor, gelu, relu, silu, tanh, sigmoid, ValueError } from '../tensor/index.js';

export type Activation = (x: Tensor) => Tensor;

const ACTIVATIONS: Record<string, Activation> = {
  gelu: (x) => gelu(x),
  gelu_new: (x) => gelu(x, 'tanh'),
  gelu_pytorch_tanh: (x) => gelu(x, 'tanh'),
  gelu_fast: (x) => gelu(x, 'tanh'),
  quick_gelu: (x) => x.mul(sigmoid(x.mul(1.702))),
  relu: (x) => relu(x),
  silu: (x) => silu(x),
  swish: (x) => silu(x),
  tanh: (x) => tanh(x),
  sigmoid: (x) => sigmoid(x),
  linear: (x) => x,
};

/** The activation a config names (e.g. 'gelu_new'); an unknown name lists the known ones. */
export function getActivation(name: string): Activation {
  const fn = ACTIVATIONS[name];
  if (!fn) throw new ValueError(`unknown activation '${name}'; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  return fn;
}
