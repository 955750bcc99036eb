// A linear layer with OFT adapters (HF PEFT 0.21's OFT Linear): the input is rotated block by
// block, y = W·(R x) + b with R = blockdiag(R₁ … R_b) orthogonal(ish), so W's neuron directions
// turn while their norms and angles keep. Merging folds R into W (W ← W·Rᵀ in [out, in] layout);
// unmerging multiplies by the blocks' inverses, as HF does.
import { Tensor, inverse } from '../../../tensor/index.js';
import { ModuleDict } from '../../../nn/index.js';
import { PeftConfigError } from '../../errors.js';
import { TunerLayer, type BaseLayer } from '../tuner-layer.js';
import { rotateRowBlocks } from './cayley.js';
import { OftRotation } from './rotation.js';
import type { OftConfig } from './config.js';

export class OftLinear extends TunerLayer {
  oft_R = new ModuleDict<OftRotation>();

  constructor(base: BaseLayer, name: string, config: OftConfig, path: string) {
    super(base);
    this.updateLayer(name, config, path);
  }

  /** Adds adapter `name` (HF's update_layer). */
  updateLayer(name: string, config: OftConfig, path: string): void {
    const { blocks, blockSize } = blockLayout(this.inFeatures, config, path);
    this.oft_R.set(name, new OftRotation({
      blocks,
      blockSize,
      coft: config.coft,
      eps: config.eps,
      blockShare: config.blockShare,
      initWeights: config.initWeights,
      neumannTerms: config.useCayleyNeumann ? config.numCayleyNeumannTerms : null,
    }));
    if (this.activeAdapters.length === 0) this.activeAdapters = [name];
  }

  adapterNames(): string[] {
    return this.oft_R.keys();
  }

  protected removeAdapterWeights(name: string): void {
    for (const p of this.oft_R.get(name)!.parameters()) p.dispose();
    this.oft_R.delete(name);
  }

  /** x with each block of its last dimension rotated: x_block ← x_block · R_block (HF's einsum). */
  rotateInput(x: Tensor, name: string): Tensor {
    const blocks = this.oft_R.get(name)!.rotationBlocks();
    const k = blocks.shape[1]!;
    const lead = x.shape.slice(0, -1);
    const rows = lead.reduce((a, b) => a * b, 1);
    const grouped = x.reshape([rows, this.inFeatures / k, k]).transpose(0, 1);
    return grouped.matmul(blocks).transpose(0, 1).reshape([...lead, this.inFeatures]);
  }

  /**
   * The base layer's output on the rotated input (`result`, the unrotated output, is replaced:
   * TunerModel keeps one adapter active, and mixed-adapter batches route each row to one).
   */
  protected override adaptInput(x: Tensor, name: string): Tensor {
    return this.rotateInput(x, name);
  }

  protected override get transformsInput(): boolean {
    return true;
  }

  protected mergedWeight(weight: Tensor, name: string): Tensor {
    return this.rotateWeight(weight, this.oft_R.get(name)!.rotationBlocks());
  }

  protected unmergedWeight(weight: Tensor, name: string): Tensor {
    return this.rotateWeight(weight, inverse(this.oft_R.get(name)!.rotationBlocks()));
  }

  /** Wᵀ ← R·Wᵀ (HF's merge) for W in base_layer's layout (GPT-2's Conv1D stores Wᵀ itself). */
  private rotateWeight(weight: Tensor, blocks: Tensor): Tensor {
    if (this.weightIsTransposed) return rotateRowBlocks(blocks, weight);
    return rotateRowBlocks(blocks, weight.T.contiguous()).T.contiguous();
  }

}

/**
 * The number and size of the rotation blocks of a layer with `inFeatures` inputs. HF PEFT silently
 * changes a size that does not divide in_features; peftjs refuses it and names the value HF would use.
 */
function blockLayout(inFeatures: number, config: OftConfig, path: string): { blocks: number; blockSize: number } {
  const [given, field] = config.r === 0 ? [config.oftBlockSize, 'oft_block_size'] : [config.r, 'r'];
  if (inFeatures % given !== 0 || given > inFeatures) {
    throw new PeftConfigError(
      `${field} ${given} does not divide in_features ${inFeatures} of '${path}'; ` +
        `use a divisor of ${inFeatures} (the nearest is ${nearestDivisor(inFeatures, given)}, the value HF PEFT would switch to)`,
    );
  }
  const other = inFeatures / given;
  return config.r === 0 ? { blocks: other, blockSize: given } : { blocks: given, blockSize: other };
}

/** HF's adjust_oft_parameters: the divisor of n nearest to `value` (the lower one on a tie). */
function nearestDivisor(n: number, value: number): number {
  if (value >= n) return n;
  let higher = value;
  while (higher <= n && n % higher !== 0) higher++;
  let lower = value;
  while (lower > 1 && n % lower !== 0) lower--;
  return value - lower <= higher - value ? lower : higher;
}
