// The browser build's GGUF tokenizer reader: refused in a page, as GGUF models are (open.browser.ts).
// Swapped in for tokenizer.ts by scripts/build-browser.ts and package.json's "browser" field.
import type { PreTrainedTokenizer } from '../../io/index.js';
import { ggufInPageError } from './open.browser.js';

export function ggufTokenizer(path: string): Promise<PreTrainedTokenizer> {
  return Promise.reject(ggufInPageError(path));
}
