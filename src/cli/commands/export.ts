// peft export: a model folder or .gguf file (and an adapter) as GGUF files for llama.cpp. With an adapter and no
// --merge, the adapter alone as llama.cpp's LoRA adapter file (served with `--lora FILE` over the
// base's GGUF); otherwise the model, with the adapter merged into it if one is given, as a GGUF
// model file with its tokenizer.
import { stat } from 'node:fs/promises';
import { PeftError } from '../../tensor/index.js';
import { readTokenizerFiles } from '../../io/index.js';
import {
  GGUF_ADAPTER_TYPES,
  GgufExportError,
  GGUF_MODEL_TYPES,
  writeLoraAdapterGguf,
  writeModelGguf,
  type GgufAdapterType,
  type GgufModelType,
} from '../../gguf/export/index.js';
import { isGgufLocation } from '../../gguf/load/open.js';
import { ggufTokenizerMetadata } from '../../gguf/load/tokenizer.js';
import { InputError, UsageError } from '../exit-codes.js';
import { openWithAdapter } from './adapter-model.js';

export interface ExportCommandOptions {
  model: string;
  adapter?: string;
  /** Merge the adapter into the model and write the model (else the adapter alone). */
  merge: boolean;
  output: string;
  /** ggml type of the matrices: F32 or F16 for an adapter (default F32), a model type for a model (default F16). */
  type?: string;
  overwrite: boolean;
}

export async function exportCommand(
  o: ExportCommandOptions,
): Promise<{ output: string; kind: 'adapter' | 'model'; type: string; tensors: number }> {
  if (o.merge && o.adapter === undefined) throw new UsageError('--merge needs --adapter DIR: the adapter to merge');
  if (!o.output.endsWith('.gguf')) throw new UsageError(`--output must name a .gguf file, not ${o.output}`);
  if (
    !o.overwrite &&
    (await stat(o.output).then(
      () => true,
      () => false,
    ))
  )
    throw new InputError(`${o.output} exists; pass --overwrite to replace it`);
  if (o.adapter !== undefined && !o.merge) {
    const type = (o.type ?? 'F32').toUpperCase() as GgufAdapterType;
    if (!GGUF_ADAPTER_TYPES.includes(type))
      throw new UsageError(
        `--type for a LoRA adapter file must be ${GGUF_ADAPTER_TYPES.join(' or ')}, not ${o.type}; merged models take ${GGUF_MODEL_TYPES.join(', ')} (--merge)`,
      );
    const { peft } = await openWithAdapter(o.model, o.adapter);
    const written = await writeLoraAdapterGguf(peft!, o.output, { type });
    return { ...written, kind: 'adapter', type };
  }
  const type = (o.type ?? 'F16').toUpperCase() as GgufModelType;
  if (!GGUF_MODEL_TYPES.includes(type))
    throw new UsageError(`--type must be one of ${GGUF_MODEL_TYPES.join(', ')}, not ${o.type}`);
  // From a .gguf model, its tokenizer metadata goes across as it is (SentencePiece ones included).
  const tokenizer = isGgufLocation(o.model) ? await ggufTokenizerMetadata(o.model) : await readTokenizerFiles(o.model);
  // Float weights to merge into and encode from: a quantised base is dequantised first.
  const { base, peft } = await openWithAdapter(o.model, o.adapter, { dtype: 'float32' });
  const model = peft === null ? base : mergeForExport(peft);
  const written = await writeModelGguf(model, tokenizer, o.output, { type });
  return { ...written, kind: 'model', type };
}

/** The merged model; a method that cannot merge says which it is and what to do instead. */
function mergeForExport(peft: NonNullable<Awaited<ReturnType<typeof openWithAdapter>>['peft']>) {
  const method = peft.peftConfig.get(peft.activeAdapter)!.peftType;
  try {
    return peft.mergeAndUnload();
  } catch (error) {
    if (!(error instanceof PeftError) || error instanceof GgufExportError) throw error;
    throw new GgufExportError(
      `${method} adapters cannot be merged into the weights (${error.message}), and llama.cpp has no equivalent adapter format; serve them with peft serve, or train a LoRA adapter for llama.cpp`,
    );
  }
}
