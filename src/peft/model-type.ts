// Which architecture an HF model is: config.json's model_type, what HF PEFT keys its
// per-architecture tables by.
import type { Module } from '../nn/index.js';

/** The model's model_type ('llama', 'gpt2', ...), or its class name when its config has none. */
export function modelType(model: Module): string {
  return (model as { config?: { model_type?: string } }).config?.model_type ?? model.constructor.name;
}
