// Parameters a checkpoint lacks (a new task head, a pooler the checkpoint's class had not), set
// as HF's _init_weights sets a fresh nn.Linear: weights from normal(0, initializer_range), biases
// zero. (ViT's draws from a normal truncated at ±2, which at std 0.02 is the same distribution.)
import { noGrad, PeftError } from '../tensor/index.js';
import { Linear, init, type Module } from '../nn/index.js';

/** Initialises the parameters at `paths` of `model` (each a Linear's weight or bias), seeded by the global generator. */
export function initFreshParameters(model: Module, paths: readonly string[], std: number): void {
  for (const path of paths) {
    const cut = path.lastIndexOf('.');
    const owner = model.getSubmodule(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    const target = !(owner instanceof Linear) ? null : name === 'weight' ? owner.weight : name === 'bias' ? owner.bias : null;
    if (!target) {
      // The registry declared a parameter that is not a Linear's: its HF init would differ.
      throw new PeftError('E_INTERNAL', `${path} is declared fresh-able but is not a Linear's weight or bias; fix the architecture's freshParameters`);
    }
    const value = name === 'bias' ? init.zeros([...target.shape], target.dtype) : init.normal([...target.shape], std, target.dtype);
    noGrad(() => target.copy_(value));
    value.dispose();
  }
}
