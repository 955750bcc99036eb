// UniPELT's LoRA part: LoRA's layer with its update scaled by a gate read from the layer's input,
// y = W·x + b + g(x)·s·B(A(x)). The gated update depends on x, so it cannot be merged into W.
import type { Tensor } from '../../../tensor/index.js';
import { ModuleDict, type Linear } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { LoraLinear } from '../lora/layer.js';
import { gateLayer, gateValue } from './gate.js';

export class GatedLoraLinear extends LoraLinear {
  lora_gate = new ModuleDict<Linear>();

  /** Gives adapter `name` (already added with updateLayer) its gate. */
  addGate(name: string): void {
    this.lora_gate.set(name, gateLayer(this.inFeatures));
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const gate = this.lora_gate.get(name)!;
    const update = this.loraOutput(this.lora_dropout.get(name)!.forward(x), name);
    return result.add(update.mul(gateValue(gate, x).to(update.dtype)));
  }

  protected override removeAdapterWeights(name: string): void {
    super.removeAdapterWeights(name);
    const gate = this.lora_gate.get(name);
    if (gate === undefined) return;
    for (const p of gate.parameters()) p.dispose();
    this.lora_gate.delete(name);
  }

  protected override mergedWeight(_weight: Tensor, name: string): Tensor {
    throw new PeftConfigError(`adapter '${name}' has a gated LoRA update (UniPELT), which depends on the input and cannot be merged into the weights; keep it as a layer (or unload() without merging)`);
  }
}
