// A quantised model back in full precision: every quantised layer replaced by a Linear holding
// its dequantised weight in `dtype`, and the quantization_config dropped from the config
// (what merging a QLoRA adapter into a full-precision copy starts from).
import { noGrad, type DType } from '../tensor/index.js';
import { Linear, type Module } from '../nn/index.js';
import type { ModelConfig } from '../io/index.js';
import { isQuantizedLinear, type QuantizedLinear } from './linear.js';

/** Replaces the quantised layers of `model` in place; returns how many there were. */
export function dequantizeModel(model: Module & { config: ModelConfig }, dtype: DType): number {
  const layers = [...model.namedModules()].filter((e): e is [string, QuantizedLinear] => isQuantizedLinear(e[1]));
  for (const [path, layer] of layers) {
    const weight = noGrad(() => layer.dequantizedWeight(dtype));
    const plain = new Linear(layer.inFeatures, layer.outFeatures, { bias: false, frozenWeight: weight });
    weight.dispose(); // the Parameter holds the storage
    plain.weight.requiresGrad = true;
    if (layer.bias !== null) {
      layer.bias.requiresGrad = true;
      plain.bias = layer.bias;
    }
    layer.weight.dispose();
    model.setSubmodule(path, plain);
  }
  const { quantization_config: _dropped, ...raw } = model.config.raw as Record<string, unknown>;
  (model.config as { raw: unknown }).raw = { ...raw, dtype };
  return layers.length;
}
