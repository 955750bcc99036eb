// The TypeScript reference quantiser: ggml's quantize_row_*_ref for every block type peftjs writes,
// applied block by block (./reference-quantize.ts, ./reference-quantize-k.ts).
import { ValueError } from '../../tensor/errors.js';
import { BLOCK_LAYOUT, ggmlByteSize, type GgmlBlockType } from './blocks.js';
import { K_BLOCK_ENCODERS } from './reference-quantize-k.js';
import { SMALL_BLOCK_ENCODERS } from './reference-quantize.js';

const ENCODERS: Readonly<Record<GgmlBlockType, (x: Float32Array, o: number, out: Uint8Array, b: number) => void>> = {
  ...SMALL_BLOCK_ENCODERS,
  ...K_BLOCK_ENCODERS,
};

/** `values` (a whole number of blocks) as the blocks of `type`, exactly as ggml's reference quantiser writes them. */
export function quantizeReference(type: GgmlBlockType, values: Float32Array): Uint8Array {
  const out = new Uint8Array(ggmlByteSize(type, values.length));
  const { elements, bytes } = BLOCK_LAYOUT[type];
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new ValueError(`quantize ${type}: element ${i} is ${values[i]}; ggml's quantisers need finite values`);
  }
  const encode = ENCODERS[type];
  for (let i = 0; i < values.length / elements; i++) encode(values, i * elements, out, i * bytes);
  return out;
}
