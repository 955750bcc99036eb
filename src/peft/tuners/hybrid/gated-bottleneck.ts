// UniPELT's adapter part: a bottleneck adapter whose change to the sublayer's output is scaled by
// a gate read from the adapter's own input: y = h + g·(A(h) − h).
import type { Tensor } from '../../../tensor/index.js';
import { ModuleDict, type Linear } from '../../../nn/index.js';
import { BottleneckLayer, floatingDType, type BottleneckAdapterOptions } from '../bottleneck/layer.js';
import { gateLayer, gateValue } from './gate.js';

export class GatedBottleneckLayer extends BottleneckLayer {
  bottleneck_gate = new ModuleDict<Linear>();

  override addAdapter(name: string, o: BottleneckAdapterOptions, path: string): void {
    super.addAdapter(name, o, path);
    this.bottleneck_gate.set(name, gateLayer(this.features, floatingDType(this.base_layer)));
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const adapted = super.applyAdapter(x, result, name);
    const gate = gateValue(this.bottleneck_gate.get(name)!, this.parallel ? x : result);
    return result.add(adapted.sub(result).mul(gate.to(result.dtype)));
  }

  protected override removeAdapterWeights(name: string): void {
    super.removeAdapterWeights(name);
    const gate = this.bottleneck_gate.get(name);
    if (gate === undefined) return;
    for (const p of gate.parameters()) p.dispose();
    this.bottleneck_gate.delete(name);
  }
}
