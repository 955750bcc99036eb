// HF PEFT's OFTRotationModule: holds one adapter's packed generators as `weight`
// [blocks (1 with block_share), k(k−1)/2] and turns them into the rotation blocks [blocks, k, k].
import { Tensor, noGrad, randn, zeros } from '../../../tensor/index.js';
import { Module, Parameter } from '../../../nn/index.js';
import { cayley, skewLayout, skewSymmetric } from './cayley.js';

export interface RotationOptions {
  blocks: number;
  blockSize: number;
  coft: boolean;
  eps: number;
  blockShare: boolean;
  initWeights: boolean;
  /** Neumann-series terms, or null for the exact Cayley transform. */
  neumannTerms: number | null;
}

export class OftRotation extends Module {
  weight: Parameter;
  private readonly layout: { index: Tensor; sign: Tensor };

  constructor(readonly options: RotationOptions) {
    super();
    const { blocks, blockSize, blockShare, initWeights } = options;
    const shape = [blockShare ? 1 : blocks, (blockSize * (blockSize - 1)) / 2];
    // init_weights true: Q = 0, so R = I and the layer starts unchanged.
    this.weight = new Parameter(initWeights ? zeros(shape) : randn(shape, { std: 0.1 }));
    this.layout = skewLayout(blockSize);
    this.registerBuffer('skew_index', this.layout.index, false);
    this.registerBuffer('skew_sign', this.layout.sign, false);
  }

  /** The rotation blocks [blocks or 1, k, k]; with coft, the generators are first projected (in place, as HF). */
  rotationBlocks(): Tensor {
    if (this.options.coft) this.projectGenerators();
    return cayley(skewSymmetric(this.weight, this.options.blockSize, this.layout), this.options.neumannTerms);
  }

  /**
   * COFT: each block's Q is scaled into the Frobenius ball of radius eps/√rows (HF's _project_batch):
   * Q ← Q · min(1, radius / ‖Q‖).
   */
  private projectGenerators(): void {
    noGrad(() => {
      const rows = this.weight.shape[0]!;
      const radius = this.options.eps / Math.sqrt(rows);
      // ‖Q‖_F² counts each packed entry twice (above and below the diagonal).
      const norms = this.weight.square().sum(1, true).mul(2).sqrt();
      const factor = norms.clamp(radius).reciprocal().mul(radius);
      this.weight.copy_(this.weight.mul(factor));
    });
  }

  override extraRepr(): string {
    return `blocks=${this.options.blocks}, block_size=${this.options.blockSize}`;
  }
}
