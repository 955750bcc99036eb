// A 2-D tensor held in one of ggml's block types, as a GGUF file stores it: ggml's [ne0, ne1] is HF's
// [out = ne1, in = ne0], row-major, each row a whole number of blocks, so the file's bytes are used as
// they are.
import { ShapeError, ValueError } from '../../tensor/errors.js';
import { BLOCK_LAYOUT, ggmlByteSize, isGgmlBlockType, type GgmlBlockType } from './blocks.js';

export interface GgmlTensor {
  readonly type: GgmlBlockType;
  /** [rows, cols]: HF's [out, in] for a linear weight, [vocab, hidden] for an embedding table. */
  readonly shape: readonly [number, number];
  /** Exactly ggmlByteSize(type, rows * cols) bytes. */
  readonly data: Uint8Array;
}

/** Checks and wraps the bytes of a [rows, cols] tensor of `type`. */
export function ggmlTensor(type: string, shape: readonly number[], data: Uint8Array): GgmlTensor {
  if (!isGgmlBlockType(type))
    throw new ValueError(
      `ggml tensor type ${type} is not a block type peftjs computes with (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K); load it with { dtype } to dequantise`,
    );
  if (shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new ShapeError(`a ${type} tensor must be 2-D [rows, cols] with positive sizes, got [${shape.join(', ')}]`);
  }
  const [rows, cols] = shape as [number, number];
  if (cols % BLOCK_LAYOUT[type].elements !== 0) {
    throw new ShapeError(
      `a ${type} tensor's rows are whole blocks of ${BLOCK_LAYOUT[type].elements}: [${rows}, ${cols}] does not fit`,
    );
  }
  const need = ggmlByteSize(type, rows * cols);
  if (data.length !== need)
    throw new ValueError(`a [${rows}, ${cols}] ${type} tensor takes ${need} bytes, got ${data.length}`);
  return { type, shape: [rows, cols], data };
}
