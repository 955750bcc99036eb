// Q and K rows of llama-family attention between Hugging Face's rotate-half RoPE layout and ggml's
// interleaved pairs, as llama.cpp's convert_hf_to_gguf.py permutes them (LlamaModel.permute:
// `w.reshape(n_head, 2, d/2, *rest).swapaxes(1, 2).reshape(w.shape)`, with n_kv_head for K); the
// loader undoes it (the same swap from [n_head, d/2, 2]). Export also gives a LoRA's B the same row
// permutation (convert_lora_to_gguf.py runs the same modify_tensors on A·B, whose row permutation is
// B's), so B·A keeps equal to the permuted delta.
import type { Tensor } from '../tensor/index.js';

/**
 * `w` ([rows, ...], rows = nHead × head_dim) with its rows in ggml's order ('to-ggml') or back in HF's
 * ('to-hf'); a new contiguous tensor. `badShape` is thrown when the rows are not nHead even-sized heads.
 */
export function permuteRopeRows(
  w: Tensor,
  nHead: number,
  direction: 'to-ggml' | 'to-hf',
  badShape: (message: string) => Error,
): Tensor {
  const rows = w.shape[0]!;
  if (rows % (2 * nHead) !== 0) throw badShape(`${rows} rows are not ${nHead} heads of an even head size`);
  const rest = w.shape.slice(1);
  const half = rows / nHead / 2;
  return w
    .reshape(direction === 'to-ggml' ? [nHead, 2, half, ...rest] : [nHead, half, 2, ...rest])
    .transpose(1, 2)
    .contiguous()
    .reshape([rows, ...rest]);
}
