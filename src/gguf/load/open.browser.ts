// The browser build's GGUF model opener: the GGUF reader reads files through node:fs, so a page
// refuses a .gguf location with a typed error instead of pulling Node modules into the bundle.
// Swapped in for open.ts by scripts/build-browser.ts and package.json's "browser" field.
import type { ModelConfig } from '../../io/index.js';
import { PeftError } from '../../tensor/errors.js';
import type { GgufModelWeights } from './weights.js';

export function isGgufLocation(location: unknown): location is string {
  return typeof location === 'string' && /\.gguf$/i.test(location);
}

/** What a page says when asked for a GGUF file. */
export function ggufInPageError(path: string): PeftError {
  return new PeftError('E_VALUE', `${path}: GGUF files load in Node only for now; in a page, load the model's Hugging Face folder (config.json, model.safetensors, tokenizer.json)`);
}

export function openGgufModel(path: string): Promise<{ config: ModelConfig; weights: GgufModelWeights }> {
  return Promise.reject(ggufInPageError(path));
}
