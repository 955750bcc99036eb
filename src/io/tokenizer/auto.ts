// AutoTokenizer: the entry point users know from transformers.
import { PreTrainedTokenizer } from './tokenizer.js';
import type { FileSource } from '../files/types.js';

export class AutoTokenizer {
  /**
   * Loads the tokenizer saved in `dir` (tokenizer.json, with tokenizer_config.json and chat templates if present,
   * or a .gguf file's tokenizer.ggml.* metadata):
   * a folder path in Node, a URL in the browser build, or any FileSource.
   */
  static async fromPretrained(dir: string | FileSource): Promise<PreTrainedTokenizer> {
    // A .gguf file carries its tokenizer in its metadata. Imported when asked for: src/gguf builds on
    // this layer, and pages that never read GGUF do not load it.
    if (typeof dir === 'string' && /\.gguf$/i.test(dir))
      return (await import('../../gguf/load/tokenizer.js')).ggufTokenizer(dir);
    return PreTrainedTokenizer.fromPretrained(dir);
  }
}
