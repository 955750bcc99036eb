// ggml's quantised block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K): what GGUF files
// written by llama.cpp hold, read and written bit for bit as ggml-quants.c does.
//
//   dequantizeGgml(type, bytes, count)  -> Float32Array   whole tensors, native (gguf-read's `{ dtype }` path)
//   quantizeGgml(type, values)          -> Uint8Array     ggml's reference quantiser (gguf-export)
//   ggmlByteSize(type, count)                             bytes of `count` elements (whole blocks)
//   ggmlTensor(type, [rows, cols], bytes) -> GgmlTensor   checked bytes of a 2-D weight
//   new GgmlLinear(tensor, bias?)  /  new GgmlEmbedding(tensor)   layers computing from the blocks
//
// A tensor of ggml shape [ne0, ne1] is ne1 rows of ne0 elements, each row a whole number of blocks,
// which is HF's [out, in] = [ne1, ne0] row-major: the bytes need no reordering.
export { GGML_BLOCK_TYPES, BLOCK_LAYOUT, QK_K, ggmlByteSize, isGgmlBlockType, type GgmlBlockType } from './blocks.js';
export { dequantizeReference } from './reference-dequantize.js';
export { quantizeReference, quantizeReference as quantizeGgml } from './reference.js';
export { dequantizeGgml, dequantizeTensor } from './native.js';
export { ggmlTensor, type GgmlTensor } from './tensor.js';
export { GgmlLinear, GgmlEmbedding, ggmlLinear } from './linear.js';
