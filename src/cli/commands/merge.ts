// peft merge: base model + adapter → a Hugging Face checkpoint folder that transformers loads:
// config.json (the base's, with the adapter's labels) and model.safetensors with the merged
// weights under the base checkpoint's own key names (older names too, as ViT's), tied weights
// once; tokenizer files copied. A quantised base stays quantised (the merge re-quantises it) unless
// a dtype is asked for: then it is dequantised first and the merged folder is full precision. Written into a fresh folder that replaces the output at the end.
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { openModelWeights, saveSafetensors, WEIGHTS_FILE, writeFileAtomic } from '../../io/index.js';
import { getArchitecture } from '../../models/registry.js';
import { resolveKey } from '../../models/pretrained.js';
import type { DType, Tensor } from '../../tensor/index.js';
import { pretrainedConfigJson, pretrainedTensors } from '../../models/save.js';
import { InputError } from '../exit-codes.js';
import { isGgufLocation, openGgufModel } from '../../gguf/load/open.js';
import { ggufTokenizerFiles } from '../../gguf/load/tokenizer.js';
import { openWithAdapter } from './adapter-model.js';

const MERGE_DTYPES: DType[] = ['float32', 'bfloat16', 'float16'];

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'generation_config.json'];

export interface MergeCommandOptions {
  model: string;
  adapter: string;
  output: string;
  overwrite: boolean;
  /** Hold (and write) the base in this dtype; a quantised base is dequantised into it first. */
  dtype?: DType;
}

export async function mergeCommand(o: MergeCommandOptions): Promise<{ output: string; tensors: number }> {
  const present = await stat(o.output).then(() => true, () => false);
  if (present && !o.overwrite) throw new InputError(`output folder ${o.output} exists; pass --overwrite to replace it`);
  if (o.dtype !== undefined && !MERGE_DTYPES.includes(o.dtype)) throw new InputError(`--dtype must be one of ${MERGE_DTYPES.join(', ')}, not ${o.dtype}`);
  const { peft } = await openWithAdapter(o.model, o.adapter, { dtype: o.dtype });
  // Into a quantised base (no --dtype) the merge re-quantises each weight and warns of the error.
  const merged = peft!.mergeAndUnload();
  const named = await checkpointNames(o.model, merged);
  const tensors = new Map<string, Tensor>();
  // Tied weights once, quantised layers in bitsandbytes' layout, as transformers' save_pretrained.
  const saved = pretrainedTensors(merged);
  for (const [path, value] of saved.tensors) tensors.set(named.get(path) ?? path, value);
  const int8 = new Set([...saved.int8].map((path) => named.get(path) ?? path));
  const staging = join(dirname(o.output), `.${basename(o.output)}.${process.pid}.merging`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await saveSafetensors(join(staging, WEIGHTS_FILE), tensors, { format: 'pt' }, { int8 });
    await writeFileAtomic(join(staging, 'config.json'), pretrainedConfigJson(merged));
    await copyTokenizer(o.model, staging);
    await rm(o.output, { recursive: true, force: true });
    await rename(staging, o.output);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { output: o.output, tensors: tensors.size };
}

/**
 * The base's tokenizer files into the merged folder; a .gguf base's byte-level BPE tokenizer is written as
 * tokenizer.json + tokenizer_config.json (a SentencePiece one has no tokenizer.json form as llama.cpp runs it).
 */
async function copyTokenizer(model: string, staging: string): Promise<void> {
  if (isGgufLocation(model)) {
    const files = await ggufTokenizerFiles(model);
    if (files === null) return;
    await writeFileAtomic(join(staging, 'tokenizer.json'), JSON.stringify(files.json));
    await writeFileAtomic(join(staging, 'tokenizer_config.json'), JSON.stringify(files.config, null, 2));
    return;
  }
  const present = new Set(await readdir(model));
  for (const file of TOKENIZER_FILES.filter((f) => present.has(f))) await copyFile(join(model, file), join(staging, file));
}

/** Our parameter path → the key the base checkpoint stores it under. */
async function checkpointNames(modelDir: string, model: { constructor: { name: string }; stateDict(): Map<string, unknown> }): Promise<Map<string, string>> {
  const entry = getArchitecture(model.constructor.name);
  const own = model.stateDict();
  // A .gguf base's weights are read under HF names, the names the merged checkpoint takes.
  const weights = isGgufLocation(modelDir) ? (await openGgufModel(modelDir)).weights : await openModelWeights(modelDir);
  try {
    const names = new Map<string, string>();
    for (const key of weights.keys()) {
      const path = entry === undefined ? (own.has(key) ? key : null) : resolveKey(key, entry, own);
      if (path !== null && !names.has(path)) names.set(path, key);
    }
    return names;
  } finally {
    await weights.close();
  }
}
