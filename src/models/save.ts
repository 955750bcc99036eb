// A model written as transformers' save_pretrained writes it: config.json (keys sorted, two-space
// indent) and model.safetensors (metadata {"format": "pt"}), a weight shared by several modules
// (tied embeddings) saved once under its first name. Quantised layers are written in
// bitsandbytes' layout (src/quant/serialize.ts), so transformers loads the folder quantised.
import { safetensorsChunks, sinkFor, WEIGHTS_FILE, type FileSink, type ModelConfig } from '../io/index.js';
import { sortedJsonText } from '../io/sorted-json.js';
import type { Tensor } from '../tensor/index.js';
import { Linear4bit, Linear8bitLt } from '../quant/linear.js';
import { quantState4Tensors, quantStateInt8Tensors } from '../quant/serialize.js';
import type { Module } from '../nn/index.js';

/** What save_pretrained writes: tensors by checkpoint key, and which of them hold int8 values. */
export interface PretrainedTensors {
  tensors: Map<string, Tensor>;
  /** Keys of uint8 tensors whose bytes are int8 (Linear8bitLt weights), written as I8. */
  int8: Set<string>;
}

/** The tensors save_pretrained writes for `model`, by checkpoint key. */
export function pretrainedTensors(model: Module): PretrainedTensors {
  const out: PretrainedTensors = { tensors: new Map(), int8: new Set() };
  const quantized = new Map<string, Linear4bit | Linear8bitLt>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Linear4bit || m instanceof Linear8bitLt) quantized.set(`${path}.weight`, m);
  }
  const written = new Set<Tensor>();
  for (const [name, value] of model.stateDict()) {
    if (written.has(value)) continue;
    written.add(value);
    const layer = quantized.get(name);
    const prefix = name.slice(0, -'.weight'.length);
    if (layer === undefined) {
      out.tensors.set(name, value);
    } else if (layer instanceof Linear4bit) {
      for (const [k, t] of quantState4Tensors(prefix, layer.quantState, layer.weightDtype)) out.tensors.set(k, t);
    } else {
      for (const [k, t] of quantStateInt8Tensors(prefix, layer.quantState)) out.tensors.set(k, t);
      out.int8.add(name);
    }
  }
  return out;
}

/**
 * config.json for `model`: the folder's own config.json (with its quantization_config, if the
 * model is quantised) and the labels the model has now (set when loading, or by an adapter).
 */
export function pretrainedConfigJson(model: { readonly config: ModelConfig }): string {
  const { raw, id2label, label2id } = model.config;
  const labelled = 'id2label' in (raw as object) || Object.keys(id2label).length !== 2 || Object.values(id2label).some((l, i) => l !== `LABEL_${i}`);
  // transformers' to_json_string ends the file with a newline; PEFT's adapter_config.json does not.
  return `${sortedJsonText(labelled ? { ...(raw as object), id2label, label2id } : raw)}\n`;
}

/** Writes `model` into `dir` (a folder path, created if needed, or a FileSink); each file is written atomically. */
export async function savePretrained(model: Module & { readonly config: ModelConfig }, dir: string | FileSink): Promise<void> {
  const sink = sinkFor(dir);
  const { tensors, int8 } = pretrainedTensors(model);
  await sink.write(WEIGHTS_FILE, safetensorsChunks(sink.describe(WEIGHTS_FILE), tensors, { format: 'pt' }, { int8 }));
  await sink.write('config.json', [new TextEncoder().encode(pretrainedConfigJson(model))]);
}
