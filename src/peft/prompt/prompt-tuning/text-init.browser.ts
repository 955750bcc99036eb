// The browser build's TEXT init (swapped in for text-init.ts): a page has no tokenizer folder to read
// synchronously while the adapter is added, so it says what to do instead.
import { PeftConfigError } from '../../errors.js';

export function textInitTokenIds(_text: string, tokenizerDir: string): number[] {
  throw new PeftConfigError(
    `prompt_tuning_init 'TEXT' reads the tokenizer in ${JSON.stringify(tokenizerDir)} from disk, which a page cannot do; ` +
      `use prompt_tuning_init 'RANDOM' in the browser, or train the adapter in Node`,
  );
}
