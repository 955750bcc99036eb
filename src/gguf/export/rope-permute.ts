// Q and K rows of llama-family attention, from Hugging Face's rotate-half RoPE layout to ggml's
// interleaved pairs, as llama.cpp's convert_hf_to_gguf.py does (LlamaModel.permute:
// `w.reshape(n_head, 2, d/2, *rest).swapaxes(1, 2).reshape(w.shape)`, with n_kv_head for K).
// A LoRA's B gets the same row permutation (convert_lora_to_gguf.py runs the same modify_tensors
// on A·B, whose row permutation is B's), so B·A keeps equal to the permuted delta.
import type { Tensor } from '../../tensor/index.js';
import { GgufExportError } from './errors.js';

/** `w` ([rows, ...], rows = nHead × head_dim) with its rows in ggml's order; a new contiguous tensor. */
export function permuteRopeRows(w: Tensor, nHead: number, what: string): Tensor {
  const rows = w.shape[0]!;
  if (rows % (2 * nHead) !== 0) {
    throw new GgufExportError(
      `${what}: ${rows} rows are not ${nHead} heads of an even head size; the model's head counts do not fit its weights`,
    );
  }
  const rest = w.shape.slice(1);
  return w
    .reshape([nHead, 2, rows / nHead / 2, ...rest])
    .transpose(1, 2)
    .contiguous()
    .reshape([rows, ...rest]);
}
