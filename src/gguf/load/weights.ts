// A GGUF model file's tensors under HF parameter names, read one at a time, in the layout our model
// classes hold them: the inverse of convert_hf_to_gguf.py's modify_tensors (and of gguf-export's
// model-tensors.ts). Q/K rows of llama files go back from ggml's interleaved rope pairs to HF's
// rotate-half order (the inverse of LlamaModel.permute); GPT-2's Conv1D weights go back to
// [in, out]. F32, F16 and BF16 load as they are; block-quantised types are dequantised by get(), or
// kept as their blocks by blockTensor() (the model loader's default: see ./quantized.ts).
import { Tensor } from '../../tensor/index.js';
import type { DType } from '../../tensor/index.js';
import { GgufFormatError } from '../errors.js';
import { BLOCK_LAYOUT, dequantizeGgml, ggmlTensor, isGgmlBlockType, type GgmlTensor } from '../quant/index.js';
import type { GgufFile, GgufTensorInfo } from '../reader.js';
import { ggufToHfName, type GgufArchitectureName } from '../names.js';
import { ROPE_FREQS_TENSOR } from '../rope-freqs.js';
import { permuteRopeRows } from '../rope-permute.js';

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
      if (info.name === ROPE_FREQS_TENSOR) continue; // rope scaling, read into the config (open.ts)
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
      t = replace(
        t,
        permuteRopeRows(t, rope[1] === 'q' ? this.ropeHeads.q : this.ropeHeads.k, 'to-hf', (m) =>
          headsError(m, info, this.file.path),
        ),
      );
    if (this.arch === 'gpt2' && GPT2_TRANSPOSED.test(info.name)) t = replace(t, t.T.contiguous());
    if (options.dtype === undefined || options.dtype === t.dtype) return t;
    return replace(t, t.to(options.dtype));
  }

  /** The dtype a plain (not block-quantised) tensor for `key` has in the file; null for block types. */
  plainDType(key: string): DType | null {
    return PLAIN[this.tensorOf(key).type.name] ?? null;
  }

  /** Whether the tensor for `key` is held in one of ggml's block types. */
  isBlockQuantized(key: string): boolean {
    return isGgmlBlockType(this.tensorOf(key).type.name);
  }

  /**
   * The blocks of a block-quantised 2-D tensor as a GgmlTensor [ne1, ne0] (HF's [out, in]), Q/K rows
   * of llama files un-permuted as get() does (a row is whole blocks, so rows move as bytes). GPT-2's
   * transposed Conv1D weights come as the file holds them, [out, in]: what GgmlLinear computes with.
   */
  async blockTensor(key: string): Promise<GgmlTensor> {
    const info = this.tensorOf(key);
    const type = info.type.name;
    if (!isGgmlBlockType(type) || info.shape.length !== 2) {
      throw new GgufFormatError(
        this.file.path,
        `is ${type} of ${info.shape.length} dims, not a 2-D block-quantised tensor`,
        info.name,
      );
    }
    const [rows, cols] = info.shape as [number, number];
    let bytes = await this.file.readBytes(info.name);
    const rope = ROPE_ROWS.exec(info.name);
    if (rope !== null && this.ropeHeads !== null) {
      const order = unpermutedRowOrder(
        rows,
        rope[1] === 'q' ? this.ropeHeads.q : this.ropeHeads.k,
        info,
        this.file.path,
      );
      bytes = reorderRows(bytes, order, (cols / BLOCK_LAYOUT[type].elements) * BLOCK_LAYOUT[type].bytes);
    }
    return ggmlTensor(type, [rows, cols], bytes);
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

function headsError(message: string, info: GgufTensorInfo, path: string): GgufFormatError {
  return new GgufFormatError(path, `${message}; the head counts in the metadata do not fit`, info.name);
}

function checkRopeHeads(rows: number, nHead: number, info: GgufTensorInfo, path: string): void {
  if (rows % (2 * nHead) !== 0)
    throw headsError(`${rows} rows are not ${nHead} heads of an even head size`, info, path);
}

/** permuteRopeRows(..., 'to-hf') as a row order: HF row i is file row order[i] (head h, pair p, half j ← h, j, p). */
export function unpermutedRowOrder(rows: number, nHead: number, info: GgufTensorInfo, path: string): Int32Array {
  checkRopeHeads(rows, nHead, info, path);
  const half = rows / nHead / 2;
  const order = new Int32Array(rows);
  for (let h = 0; h < nHead; h++)
    for (let j = 0; j < 2; j++)
      for (let p = 0; p < half; p++) order[h * 2 * half + j * half + p] = h * 2 * half + p * 2 + j;
  return order;
}

/** Rows of `rowBytes` bytes each, in `order` (row i of the result is row order[i] of `bytes`). */
function reorderRows(bytes: Uint8Array, order: Int32Array, rowBytes: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  order.forEach((from, i) => out.set(bytes.subarray(from * rowBytes, (from + 1) * rowBytes), i * rowBytes));
  return out;
}
