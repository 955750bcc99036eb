// ggml's quantised block types (ggml-common.h): how many elements a block holds and how many bytes it
// takes. A row of a ggml tensor is a whole number of blocks, so blocks never cross rows.
import { ValueError } from '../../tensor/errors.js';
import { ggmlType, QK_K, type GgmlTypeName } from '../format.js';

/** The block types peftjs reads and computes with (what Q4_K_M / Q8_0 files contain): a subset of format.ts's types. */
export const GGML_BLOCK_TYPES = [
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q8_0',
  'Q4_K',
  'Q5_K',
  'Q6_K',
  'Q8_K',
] as const satisfies readonly GgmlTypeName[];
export type GgmlBlockType = (typeof GGML_BLOCK_TYPES)[number];

export { QK_K };

/**
 * Elements and bytes of one block (the structs block_q4_0 ... block_q8_K of ggml-common.h), from the one
 * table of ggml types (format.ts). Q4_0: d (f16), qs[16]; Q4_1: d, m, qs[16]; Q5_0: d, qh[4], qs[16];
 * Q5_1: d, m, qh[4], qs[16]; Q8_0: d, qs[32]; Q4_K: d, dmin, scales[12], qs[128]; Q5_K: d, dmin,
 * scales[12], qh[32], qs[128]; Q6_K: ql[128], qh[64], scales[16], d (last); Q8_K: d (f32), qs[256], bsums[16].
 */
export const BLOCK_LAYOUT = Object.fromEntries(
  GGML_BLOCK_TYPES.map((type) => [type, { elements: ggmlType(type).blockSize, bytes: ggmlType(type).typeSize }]),
) as Readonly<Record<GgmlBlockType, { elements: number; bytes: number }>>;

export function isGgmlBlockType(name: string): name is GgmlBlockType {
  return (GGML_BLOCK_TYPES as readonly string[]).includes(name);
}

/** Bytes that `count` elements of `type` take; count must be a whole number of blocks. */
export function ggmlByteSize(type: GgmlBlockType, count: number): number {
  const layout = BLOCK_LAYOUT[type];
  if (layout === undefined)
    throw new ValueError(`ggml block type must be one of ${GGML_BLOCK_TYPES.join(', ')}, not ${String(type)}`);
  if (!Number.isSafeInteger(count) || count < 0 || count % layout.elements !== 0) {
    throw new ValueError(
      `${type} holds elements in blocks of ${layout.elements}: ${count} elements is not a whole number of blocks (pad rows to a multiple of ${layout.elements}, or store the tensor as F16/F32)`,
    );
  }
  return (count / layout.elements) * layout.bytes;
}
