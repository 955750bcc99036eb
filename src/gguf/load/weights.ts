// A GGUF model file's tensors under HF parameter names, read one at a time, in the layout our model
// classes hold them: the inverse of convert_hf_to_gguf.py's modify_tensors (and of gguf-export's
// model-tensors.ts). Q/K rows of llama files go back from ggml's interleaved rope pairs to HF's
// rotate-half order (the inverse of LlamaModel.permute); GPT-2's Conv1D weights go back to
// [in, out]. F32, F16 and BF16 load as they are; block-quantised types are dequantised.
import { Tensor } from '../../tensor/index.js';
import type { DType } from '../../tensor/index.js';
import { GgufFormatError } from '../errors.js';
import { dequantizeGgml, isGgmlBlockType } from '../quant/index.js';
import type { GgufFile, GgufTensorInfo } from '../reader.js';
import { ggufToHfName, type GgufArchitectureName } from '../names.js';

const PLAIN: Partial<Record<string, DType>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
/** GPT-2 tensors the converter transposed from Conv1D's [in, out] to [out, in]. */
const GPT2_TRANSPOSED = /^blk\.\d+\.(attn_qkv|attn_output|ffn_up|ffn_down)\.weight$/;
const ROPE_ROWS = /^blk\.\d+\.attn_([qk])\.(weight|bias)$/;

export class GgufModelWeights {
  /** HF name -> GGUF tensor. */
  private readonly byHfName = new Map<string, GgufTensorInfo>();

  constructor(
    private readonly file: GgufFile,
    private readonly arch: GgufArchitectureName,
    /** Query and key heads of llama files (whose Q/K rows the converter permuted); null otherwise. */
    private readonly ropeHeads: { q: number; k: number } | null,
  ) {
    const unknown: string[] = [];
    for (const info of file.tensors.values()) {
      const hf = ggufToHfName(arch, info.name);
      if (hf === null) unknown.push(info.name);
      else this.byHfName.set(hf, info);
    }
    if (unknown.length > 0) {
      throw new GgufFormatError(
        file.path,
        `holds tensors peftjs's ${arch} model has no place for: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`,
      );
    }
  }

  keys(): string[] {
    return [...this.byHfName.keys()];
  }

  info(key: string): { shape: readonly number[] } {
    const info = this.tensorOf(key);
    return { shape: GPT2_TRANSPOSED.test(info.name) && this.arch === 'gpt2' ? [...info.shape].reverse() : info.shape };
  }

  async get(key: string, options: { dtype?: DType } = {}): Promise<Tensor> {
    const info = this.tensorOf(key);
    let t = await this.read(info);
    const rope = ROPE_ROWS.exec(info.name);
    if (rope !== null && this.ropeHeads !== null)
      t = replace(t, unpermuteRopeRows(t, rope[1] === 'q' ? this.ropeHeads.q : this.ropeHeads.k, info, this.file.path));
    if (this.arch === 'gpt2' && GPT2_TRANSPOSED.test(info.name)) t = replace(t, t.T.contiguous());
    if (options.dtype === undefined || options.dtype === t.dtype) return t;
    return replace(t, t.to(options.dtype));
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private tensorOf(key: string): GgufTensorInfo {
    const info = this.byHfName.get(key);
    if (info === undefined) throw new GgufFormatError(this.file.path, 'has no tensor for this parameter', key);
    return info;
  }

  /** The tensor's values in its file dtype (float32 for block-quantised types). */
  private async read(info: GgufTensorInfo): Promise<Tensor> {
    const dtype = PLAIN[info.type.name];
    if (dtype !== undefined) {
      const t = Tensor.empty(info.shape, dtype);
      try {
        const b = t.buffer;
        await this.file.readInto(info.name, new Uint8Array(b.buffer, b.byteOffset, info.byteLength));
      } catch (error) {
        t.dispose();
        throw error;
      }
      return t;
    }
    if (!isGgmlBlockType(info.type.name)) {
      throw new GgufFormatError(
        this.file.path,
        `is ${info.type.name}, a type peftjs does not read (it reads F32, F16, BF16 and Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)`,
        info.name,
      );
    }
    const values = dequantizeGgml(
      info.type.name,
      await this.file.readBytes(info.name),
      info.shape.reduce((a, b) => a * b, 1),
    );
    return Tensor.fromArray(values, info.shape, 'float32');
  }
}

/** `next`, after disposing `previous` (each step of get() makes a new tensor). */
function replace(previous: Tensor, next: Tensor): Tensor {
  if (next !== previous) previous.dispose();
  return next;
}

/**
 * Rows of a llama Q or K weight (or bias) back in HF's order: the inverse of convert_hf_to_gguf.py's
 * LlamaModel.permute (`w.reshape(n_head, 2, d/2, ...).swapaxes(1, 2)`), i.e. reshape to
 * (n_head, d/2, 2, ...) and swap those axes back.
 */
export function unpermuteRopeRows(w: Tensor, nHead: number, info: GgufTensorInfo, path: string): Tensor {
  const rows = w.shape[0]!;
  if (rows % (2 * nHead) !== 0) {
    throw new GgufFormatError(
      path,
      `${rows} rows are not ${nHead} heads of an even head size; the head counts in the metadata do not fit`,
      info.name,
    );
  }
  const rest = w.shape.slice(1);
  return w
    .reshape([nHead, rows / nHead / 2, 2, ...rest])
    .transpose(1, 2)
    .contiguous()
    .reshape([rows, ...rest]);
}
