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
import { permuteRopeRows } from '../rope-permute.js';

/** The export error for Q/K rows that do not fit the model's head counts. */
export function headsMismatch(what: string, message: string): GgufExportError {
  return new GgufExportError(`${what}: ${message}; the model's head counts do not fit its weights`);
}

export interface ModelTensor {
  name: string;
  type: GgmlTypeName;
  /** Row-major values (HF's [out, in] for matrices). */
  value: Tensor;
}

/**
 * The type llama.cpp's llama-quantize uses for a K-quant matrix whose rows are not whole 256-element
 * super-blocks (llama-quant.cpp, llama_tensor_get_type's convert_incompatible_tensor): SmolLM2's
 * 576-wide rows make most of a Q4_K file Q5_0.
 */
const K_QUANT_FALLBACK: Partial<Record<GgmlTypeName, GgmlTypeName>> = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };

/** `type` if a row of `cols` elements is whole blocks of it, else its fallback (as above), else F16. */
function matrixTypeFor(type: GgmlTypeName, cols: number): GgmlTypeName {
  if (fitsBlocks(type, cols)) return type;
  const fallback = K_QUANT_FALLBACK[type];
  return fallback !== undefined && fitsBlocks(fallback, cols) ? fallback : 'F16';
}

/**
 * The GGUF tensors of `model` (float weights; dequantise a quantised model first) with matrices
 * in `type`. A matrix whose rows do not fit `type`'s blocks falls back as llama-quantize does for
 * K-quants, and to F16 otherwise (as the converter's Q8_0 output does).
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
      v = permuteRopeRows(v, name.includes('attn_q') ? rope.q : rope.k, 'to-ggml', (m) => headsMismatch(hfName, m));
    if (v.ndim > 2)
      throw new GgufExportError(`${hfName} has ${v.ndim} dimensions; GGUF model export writes vectors and matrices`);
    const matrixType = v.ndim === 2 ? matrixTypeFor(type, v.shape[1]!) : 'F32';
    out.push({ name, type: matrixType, value: v });
  }
  return out;
}
