// prepareModelForKbitTraining, with HF PEFT's meaning (peft/utils/other.py
// prepare_model_for_kbit_training): freeze every parameter, store every 16-bit floating-point
// parameter that is not a quantised weight (norms, embeddings, heads, biases) in float32, and for
// a quantised model turn on gradient checkpointing and make the input embeddings' output
// require gradients (HF's enable_input_require_grads).
import { Embedding, type Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { isQuantizedLinear } from '../quant/linear.js';
import { enableGradientCheckpointing, recastParameters } from './memory.js';

export interface KbitTrainingOptions {
  /** Gradient checkpointing of the layer stacks (default true, as HF), for quantised models. */
  useGradientCheckpointing?: boolean;
}

export function prepareModelForKbitTraining<M extends Module & { config: unknown }>(model: M, { useGradientCheckpointing = true }: KbitTrainingOptions = {}): M {
  for (const p of model.parameters()) p.requiresGrad = false;
  recastParameters(model, (p) => p.dtype === 'float16' || p.dtype === 'bfloat16', 'float32');
  const loadedInKbit = [...model.namedModules()].some(([, m]) => isQuantizedLinear(m));
  if (loadedInKbit && useGradientCheckpointing) {
    enableInputRequireGrads(model);
    enableGradientCheckpointing(model);
  }
  return model;
}

/** The output of the model's word embeddings requires grad (HF's enable_input_require_grads). */
function enableInputRequireGrads(model: Module & { config: unknown }): void {
  const vocab = (model.config as { vocab_size?: number }).vocab_size;
  const embedding = [...model.namedModules()].map(([, m]) => m).find((m): m is Embedding => m instanceof Embedding && m.numEmbeddings === vocab);
  if (embedding === undefined) return;
  const forward = embedding.forward.bind(embedding);
  embedding.forward = (ids: Tensor) => {
    const out = forward(ids);
    return out.requiresGrad || out.gradFn !== null ? out : out.requiresGrad_();
  };
}
