// AutoTokenizer: the entry point users know from transformers.
import { PreTrainedTokenizer } from './tokenizer.js';
import type { FileSource } from '../files/types.js';

export class AutoTokenizer {
  /**
   * Loads the tokenizer saved in `dir` (tokenizer.json, with tokenizer_config.json and chat templates if present):
   * a folder path in Node, a URL in the browser build, or any FileSource.
   */
  static fromPretrained(dir: string | FileSource): Promise<PreTrainedTokenizer> {
    return PreTrainedTokenizer.fromPretrained(dir);
  }
}
