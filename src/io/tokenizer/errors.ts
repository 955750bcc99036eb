// The typed error every tokenizer entry point throws. `code` says which kind of problem it is.
import { PeftError } from '../../tensor/errors.js';

export type TokenizerErrorCode =
  | 'E_TOKENIZER_FILE' // a missing, unreadable or malformed tokenizer file
  | 'E_TOKENIZER_OPTION' // an option or argument outside what the call accepts
  | 'E_TOKEN_ID' // a token id outside the vocabulary
  | 'E_NO_PAD_TOKEN' // padding asked for, but the tokenizer has no pad token
  | 'E_TRUNCATION' // truncation cannot reach the requested length
  | 'E_RAGGED_BATCH' // tensors asked for rows of different lengths
  | 'E_NO_CHAT_TEMPLATE' // no chat template to apply
  | 'E_CHAT_TEMPLATE'; // the chat template failed to render (raise_exception, bad syntax, ...)

export class TokenizerError extends PeftError {
  constructor(
    override readonly code: TokenizerErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}
