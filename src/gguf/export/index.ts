// Writing GGUF files for llama.cpp: a LoRA adapter as llama.cpp's adapter file
// (convert_lora_to_gguf.py's layout), and a model (plain, or with an adapter merged) as a GGUF
// model file with its tokenizer (convert_hf_to_gguf.py's layout). Both written atomically.
import type { PretrainedModel } from '../../models/index.js';
import type { PeftModel } from '../../peft/index.js';
import type { LlamaConfig, RopeParameters, TokenizerFiles } from '../../io/index.js';
import { tensor } from '../../tensor/index.js';
import { llama3RopeFactors, ROPE_FREQS_TENSOR } from '../rope-freqs.js';
import { gguf, type GgufValue } from '../metadata.js';
import { writeGguf } from '../writer.js';
import type { GgmlTypeName } from '../format.js';
import { hfToGgufName } from '../names.js';
import { encodeTensor } from './encode.js';
import { GgufExportError } from './errors.js';
import { loraAdapterTensors } from './lora-adapter.js';
import { architectureMetadata, ggufArchitecture } from './model-metadata.js';
import { modelTensors } from './model-tensors.js';
import { tokenizerMetadata } from './tokenizer-metadata.js';

export { GgufExportError } from './errors.js';

/** Types of a LoRA adapter file's A and B (convert_lora_to_gguf.py's f32 and f16 outtypes). */
export const GGUF_ADAPTER_TYPES = ['F32', 'F16'] as const;
export type GgufAdapterType = (typeof GGUF_ADAPTER_TYPES)[number];
/** Types of a model file's matrices (1-D tensors stay F32). */
export const GGUF_MODEL_TYPES = [
  'F32',
  'F16',
  'BF16',
  'Q8_0',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q4_K',
  'Q5_K',
  'Q6_K',
] as const;
export type GgufModelType = (typeof GGUF_MODEL_TYPES)[number];

// llama_ftype for general.file_type (llama.h); the K-quants as their "_M" mixes' names although written pure.
const FILE_TYPE: Record<GgufModelType, number> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q5_1: 9,
  Q4_K: 15,
  Q5_K: 17,
  Q6_K: 18,
  BF16: 32,
};

export interface WrittenGguf {
  output: string;
  tensors: number;
}

/** Writes `peft`'s LoRA adapter `adapterName` (default: the active one) as a llama.cpp LoRA adapter file. */
export async function writeLoraAdapterGguf(
  peft: PeftModel,
  output: string,
  { type = 'F32', adapterName = peft.activeAdapter }: { type?: GgufAdapterType; adapterName?: string } = {},
): Promise<WrittenGguf> {
  if (!GGUF_ADAPTER_TYPES.includes(type))
    throw new GgufExportError(`adapter type must be one of ${GGUF_ADAPTER_TYPES.join(', ')}, not ${type}`);
  const arch = ggufArchitecture(peft.model.config);
  const { alpha, tensors } = loraAdapterTensors(peft, adapterName, (hfWeight) => {
    const name = hfToGgufName(arch.name, hfWeight);
    if (name === null) return null;
    const rope = arch.ropePermute;
    const ropeHeads =
      rope === null
        ? undefined
        : /\.attn_q\.weight$/.test(name)
          ? rope.q
          : /\.attn_k\.weight$/.test(name)
            ? rope.k
            : undefined;
    return { name, ropeHeads };
  });
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', gguf.str(arch.name)],
    ['general.type', gguf.str('adapter')],
    ['adapter.type', gguf.str('lora')],
    ['adapter.lora.alpha', gguf.f32(alpha)],
  ]);
  await writeGguf(
    output,
    metadata,
    tensors.map((t) => ({
      name: t.name,
      type: type as GgmlTypeName,
      shape: t.value.shape,
      data: () => encodeTensor(t.value, type),
    })),
  );
  return { output, tensors: tensors.length };
}

/** Llama 3 rope scaling as the converter writes it: the divisors as rope_freqs.weight (no metadata). */
function ropeFreqsTensor(config: PretrainedModel['config']) {
  const rope = (config as { rope_parameters?: RopeParameters }).rope_parameters;
  if (rope?.rope_type !== 'llama3') return [];
  const factors = llama3RopeFactors(rope, (config as LlamaConfig).head_dim);
  return [{ name: ROPE_FREQS_TENSOR, type: 'F32' as const, value: tensor(factors, [factors.length]) }];
}

/**
 * Writes `model` (float weights) and its tokenizer as a GGUF model file with matrices in `type`. The tokenizer
 * is a folder's tokenizer files, or another GGUF file's `tokenizer.*` metadata written as it is.
 */
export async function writeModelGguf(
  model: PretrainedModel,
  tokenizer: TokenizerFiles | ReadonlyMap<string, GgufValue>,
  output: string,
  { type = 'F16', name }: { type?: GgufModelType; name?: string } = {},
): Promise<WrittenGguf> {
  if (!GGUF_MODEL_TYPES.includes(type))
    throw new GgufExportError(`model type must be one of ${GGUF_MODEL_TYPES.join(', ')}, not ${type}`);
  const arch = ggufArchitecture(model.config);
  const tensors = [...modelTensors(model, arch, type), ...ropeFreqsTensor(model.config)];
  const vocabSize = (model.config as { vocab_size: number }).vocab_size;
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', gguf.str(arch.name)],
    ['general.type', gguf.str('model')],
    ...(name === undefined ? [] : ([['general.name', gguf.str(name)]] as const)),
    ['general.file_type', gguf.u32(FILE_TYPE[type])],
    ['general.quantization_version', gguf.u32(2)],
    ...architectureMetadata(model.config),
    ...(tokenizer instanceof Map ? tokenizer : tokenizerMetadata(tokenizer as TokenizerFiles, vocabSize)),
  ]);
  await writeGguf(
    output,
    metadata,
    tensors.map((t) => ({
      name: t.name,
      type: t.type,
      shape: t.value.shape,
      data: () => encodeTensor(t.value, t.type),
    })),
  );
  return { output, tensors: tensors.length };
}
