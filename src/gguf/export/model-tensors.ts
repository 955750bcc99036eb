// A model's weights as a GGUF model file holds them, following convert_hf_to_gguf.py
// (ModelBase.prepare_tensors, LlamaModel / GPT2Model.modify_tensors): GGUF names, Q/K rows of
// llama-family files in ggml's order, GPT-2's Conv1D weights transposed to [out, in], a tied
// output written once (as token_embd; llama.cpp falls back to it when output.weight is absent),
// 1-D tensors (norms, biases) in F32 and matrices in the asked type.
import type { Tensor } from '../../tensor/index.js';
import { Conv1D, type Module } from '../../nn/index.js';
import type { GgmlTypeName } from '../format.js';
import { hfToGgufName } from '../names.js';
import { GgufExportError } from './errors.js';
import { fitsBlocks } from './encode.js';
import type { GgufArchitecture } from './model-metadata.js';
import { permuteRopeRows } from './rope-permute.js';

export interface ModelTensor {
  name: string;
  type: GgmlTypeName;
  /** Row-major values (HF's [out, in] for matrices). */
  value: Tensor;
}

/**
 * The GGUF tensors of `model` (float weights; dequantise a quantised model first) with matrices
 * in `type`. A matrix whose rows do not fit `type`'s blocks falls back to F16, as the converter's
 * Q8_0 output does.
 */
export function modelTensors(model: Module, arch: GgufArchitecture, type: GgmlTypeName): ModelTensor[] {
  const conv1d = new Set<string>();
  for (const [path, m] of model.namedModules()) if (m instanceof Conv1D) conv1d.add(`${path}.weight`);
  const seen = new Set<Tensor>();
  const out: ModelTensor[] = [];
  for (const [hfName, value] of model.stateDict()) {
    if (seen.has(value)) continue;
    seen.add(value);
    const name = hfToGgufName(arch.name, hfName);
    if (name === null)
      throw new GgufExportError(
        `${hfName} has no place in llama.cpp's ${arch.name} model; peftjs cannot export this model to GGUF`,
      );
    let v = conv1d.has(hfName) ? value.T.contiguous() : value;
    const rope = arch.ropePermute;
    if (rope !== null && /^blk\.\d+\.attn_[qk]\.(weight|bias)$/.test(name))
      v = permuteRopeRows(v, name.includes('attn_q') ? rope.q : rope.k, hfName);
    if (v.ndim > 2)
      throw new GgufExportError(`${hfName} has ${v.ndim} dimensions; GGUF model export writes vectors and matrices`);
    const matrixType = v.ndim === 2 ? (fitsBlocks(type, v.shape[1]!) ? type : 'F16') : 'F32';
    out.push({ name, type: matrixType, value: v });
  }
  return out;
}
