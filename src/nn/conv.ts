// PatchConv2d: torch's Conv2d in the one form vision transformers use, kernel_size = stride (the
// patches do not overlap, no padding), so it is a reshape of the image into patches and one GEMM.
import { Tensor, linear, ShapeError, formatShape, type DType } from '../tensor/index.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { uniform } from './init.js';

export class PatchConv2d extends Module {
  /** [out, in, patch, patch], torch's Conv2d layout (checkpoints and adapters keep it). */
  weight: Parameter;
  bias: Parameter;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly patch: number,
    { dtype = 'float32' }: { dtype?: DType } = {},
  ) {
    super();
    // torch's Conv2d default init: U(-1/√fanIn, 1/√fanIn) for weight and bias.
    const bound = 1 / Math.sqrt(inChannels * patch * patch);
    this.weight = new Parameter(uniform([outChannels, inChannels, patch, patch], bound, dtype));
    this.bias = new Parameter(uniform([outChannels], bound, dtype));
  }

  /**
   * pixels [B, in, H, W] → one row per patch, row-major over the patch grid: [B, (H/p)·(W/p), out]
   * (torch's conv output [B, out, H/p, W/p] flattened and transposed, as ViT uses it). Each patch
   * is flattened in (channel, row, column) order, the weight's own, against the weight viewed
   * [out, in·p·p]; backward is autograd through the reshape/permute and the GEMM.
   */
  forward(pixels: Tensor): Tensor {
    const p = this.patch;
    const [b, c, height, width] = pixels.shape as [number, number, number, number];
    if (pixels.ndim !== 4 || c !== this.inChannels || height % p !== 0 || width % p !== 0) {
      throw new ShapeError(
        `PatchConv2d: input must be [batch, ${this.inChannels}, H, W] with H and W multiples of the patch size ${p}, not ${formatShape(pixels.shape)}`,
      );
    }
    const [rows, cols] = [height / p, width / p];
    const patches = pixels
      .reshape([b, c, rows, p, cols, p])
      .permute([0, 2, 4, 1, 3, 5])
      .reshape([b, rows * cols, c * p * p]);
    return linear(patches, this.weight.reshape([this.outChannels, c * p * p]), this.bias);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.patch}, ${this.patch}), stride=(${this.patch}, ${this.patch})`;
  }
}
