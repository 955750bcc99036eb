// A LoRA adapter as llama.cpp's LoRA adapter file holds it, following convert_lora_to_gguf.py
// (LoraModel.get_tensors / modify_tensors): for each adapted weight `<gguf name>.weight`, the
// tensors `<gguf name>.weight.lora_a` (A, [r, in]: ggml ne [in, r]) and `.lora_b` (B, [out, r]),
// with B's rows in ggml's Q/K order for llama-family q/k (rope-permute.ts), and the adapter's
// alpha in the metadata (`adapter.lora.alpha`).
//
// llama.cpp scales each layer by user_scale × alpha / r, r read from lora_b (llama-adapter.cpp,
// llama_adapter_lora_weight::get_scale). A layer whose own factor differs (rsLoRA's alpha/√r,
// rank_pattern / alpha_pattern) gets the difference folded into its B, so every layer computes
// exactly s·B·A as peftjs does; convert_lora_to_gguf.py ignores those options.
import type { Tensor } from '../../tensor/index.js';
import { noGrad } from '../../tensor/index.js';
import { LoraLinear } from '../../peft/tuners/lora/layer.js';
import type { PeftModel } from '../../peft/index.js';
import { GgufExportError } from './errors.js';
import { permuteRopeRows } from '../rope-permute.js';
import { headsMismatch } from './model-tensors.js';

/** A tensor to write, in row-major order (shape outermost first, as HF and numpy write it). */
export interface ExportTensor {
  name: string;
  value: Tensor;
}

/** Where an adapted weight lives in the GGUF file, and how its rows are ordered there. */
export interface WeightPlacement {
  /** The GGUF tensor name of the base weight (`blk.0.attn_q.weight`). */
  name: string;
  /** For llama-family Q/K: the heads whose rows llama.cpp's converter permutes. */
  ropeHeads?: number;
}

export interface LoraExport {
  /** adapter.lora.alpha. */
  alpha: number;
  tensors: ExportTensor[];
}

/**
 * The GGUF LoRA tensors of `peft`'s adapter `adapterName`. `place` maps an HF weight name
 * (`model.layers.0.self_attn.q_proj.weight`) to its place in the base's GGUF file, or null when
 * llama.cpp's model has no such weight.
 */
export function loraAdapterTensors(
  peft: PeftModel,
  adapterName: string,
  place: (hfWeight: string) => WeightPlacement | null,
): LoraExport {
  const config = peft.peftConfig.get(adapterName);
  if (config === undefined)
    throw new GgufExportError(
      `the model has no adapter named '${adapterName}'; it has ${[...peft.peftConfig.keys()].join(', ')}`,
    );
  if (config.peftType !== 'LORA')
    throw new GgufExportError(
      `${config.peftType} adapters have no llama.cpp adapter format; export the merged model instead (peft export --adapter DIR --merge)`,
    );
  if ((config.modulesToSave ?? []).length > 0) {
    throw new GgufExportError(
      `the adapter trains whole modules (modules_to_save: ${config.modulesToSave!.join(', ')}), which a llama.cpp LoRA file cannot hold; export the merged model instead (--merge)`,
    );
  }
  const alpha = (config as unknown as { loraAlpha: number }).loraAlpha;
  const tensors: ExportTensor[] = [];
  noGrad(() => {
    for (const [path, layer] of peft.model.namedModules()) {
      if (!(layer instanceof LoraLinear) || !layer.adapterNames().includes(adapterName)) continue;
      if (layer.constructor !== LoraLinear)
        throw new GgufExportError(
          `${path}: ${layer.constructor.name} layers have no llama.cpp equivalent; export the merged model instead (--merge)`,
        );
      if (layer.usesDora(adapterName))
        throw new GgufExportError(
          `${path}: DoRA's magnitude vector has no llama.cpp equivalent; export the merged model instead (--merge)`,
        );
      const a = layer.lora_A.get(adapterName)!.weight;
      const b = layer.lora_B.get(adapterName)!;
      if (b.bias !== null)
        throw new GgufExportError(
          `${path}: llama.cpp LoRA files have no bias (lora_bias); export the merged model instead (--merge)`,
        );
      const where = place(`${path}.weight`);
      if (where === null)
        throw new GgufExportError(
          `${path}: llama.cpp's model has no weight for this module (a tied lm_head?); export the merged model instead (--merge)`,
        );
      const r = layer.ranks.get(adapterName)!;
      // llama.cpp applies alpha / r; the rest of this layer's factor goes into B.
      const fold = layer.scaling.get(adapterName)! / (alpha / r);
      let bw = Math.abs(fold - 1) < 1e-7 ? b.weight : b.weight.mul(fold);
      if (where.ropeHeads !== undefined)
        bw = permuteRopeRows(bw, where.ropeHeads, 'to-ggml', (m) => headsMismatch(`${path}.lora_B`, m));
      tensors.push({ name: `${where.name}.lora_a`, value: a }, { name: `${where.name}.lora_b`, value: bw });
    }
  });
  if (tensors.length === 0) throw new GgufExportError(`adapter '${adapterName}' adapts no layer`);
  return { alpha, tensors };
}
