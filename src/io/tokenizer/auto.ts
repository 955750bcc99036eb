// AutoTokenizer: the entry point users know from transformers.
import { PreTrainedTokenizer } from './tokenizer.js';

export class AutoTokenizer {
  /** Loads the tokenizer saved in `dir` (tokenizer.json, with tokenizer_config.json and chat templates if present). */
  static fromPretrained(dir: string): Promise<PreTrainedTokenizer> {
    return PreTrainedTokenizer.fromPretrained(dir);
  }
}
