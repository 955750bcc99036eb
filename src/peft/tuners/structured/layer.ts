// A linear layer with structured-mask adapters: a trainable difference on a block of the weight
// (structured_delta.<adapter>): the whole [out, in] weight, the chosen heads' output rows
// ([k, in]) or their input columns ([out, k]). Zero at the start, so the output is the base's.
import { Tensor, keep, linear, tensor, zeros } from '../../../tensor/index.js';
import { Parameter, ParameterDict } from '../../../nn/index.js';
import { TunerLayer, type BaseLayer } from '../tuner-layer.js';
import type { Selection } from './heads.js';

interface Block {
  axis: Selection['axis'];
  index: Tensor;
}

export class StructuredMaskLayer extends TunerLayer {
  structured_delta = new ParameterDict();
  /** Per adapter, the rows or columns its delta covers (absent: the whole weight). */
  private readonly blocks = new Map<string, Block>();

  constructor(base: BaseLayer, name: string, selection: Selection | null) {
    super(base);
    this.updateLayer(name, selection);
  }

  updateLayer(name: string, selection: Selection | null): void {
    const [out, inp] = [this.outFeatures, this.inFeatures];
    const k = selection?.index.length ?? 0;
    const shape = selection === null ? [out, inp] : selection.axis === 'out' ? [k, inp] : [out, k];
    this.structured_delta.set(name, new Parameter(zeros(shape), false));
    if (selection !== null) this.blocks.set(name, { axis: selection.axis, index: keep(tensor(selection.index, [k], 'int64')) });
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.structured_delta.keys();
  }

  protected removeAdapterWeights(name: string): void {
    this.structured_delta.get(name)!.dispose();
    this.structured_delta.delete(name);
    this.blocks.get(name)?.index.dispose();
    this.blocks.delete(name);
  }

  protected override applyAdapter(x: Tensor, result: Tensor, name: string): Tensor {
    const delta = this.structured_delta.get(name)!;
    const block = this.blocks.get(name);
    if (block === undefined) return result.add(linear(x, delta));
    if (block.axis === 'out') return result.indexAdd(-1, block.index, linear(x, delta));
    return result.add(linear(x.indexSelect(-1, block.index), delta));
  }

  /** The delta as a full [out, in] matrix in base_layer.weight's layout. */
  private fullDelta(name: string): Tensor {
    const delta = this.structured_delta.get(name)!;
    const block = this.blocks.get(name);
    const full = block === undefined ? delta : zeros([this.outFeatures, this.inFeatures]).indexAdd(block.axis === 'out' ? 0 : 1, block.index, delta);
    return this.weightIsTransposed ? full.T.contiguous() : full;
  }

  protected mergedWeight(weight: Tensor, name: string): Tensor {
    return weight.add(this.fullDelta(name));
  }

  protected unmergedWeight(weight: Tensor, name: string): Tensor {
    return weight.sub(this.fullDelta(name));
  }
}
