// A fast tokenizer as transformers 5 loads one from a folder: tokenizer.json run by @huggingface/tokenizers, with
// tokenizer_config.json's special tokens, padding, truncation and chat templates on top.
import { Tokenizer } from '@huggingface/tokenizers';
import type { Tensor } from '../../tensor/tensor.js';
import { TokenizerError } from './errors.js';
import type { FileSource } from '../files/types.js';
import { readTokenizerFiles, TOKENIZER_CONFIG_FILE, type TokenizerFiles } from './files.js';
import { readTokenizerSettings, type ChatTemplates, type Side, type TokenizerSettings } from './config.js';
import { modelVocab, withSpecialTokens, type TokenizerJSON } from './tokenizer-json.js';
import { merge, postProcessorFromJSON, rawSegments, type PostProcessor } from './post-processor.js';
import { resolveStrategies, type Padding, type Truncation } from './strategies.js';
import { truncate } from './truncation.js';
import { padRows, type EncodedRow } from './padding.js';
import { toLists, toTensors, type BatchEncoding, type IdDType } from './batch-encoding.js';
import { cleanUpTokenization } from './cleanup.js';
import { renderChatTemplate, selectChatTemplate, type ChatMessage } from './chat-template.js';

export interface EncodeOptions {
  /** Add the special tokens of tokenizer.json's post-processor ([CLS] ... [SEP], <s> ...). Default true. */
  addSpecialTokens?: boolean;
  /** Truncate to maxLength (or the tokenizer's model_max_length): true is 'longest_first'. */
  truncation?: Truncation;
  maxLength?: number;
}

export interface CallOptions extends EncodeOptions {
  /** The second sequence of each pair: one per text. */
  textPair?: string | readonly string[];
  /** true or 'longest': to the longest row; 'max_length': to maxLength. Default: no padding. */
  padding?: Padding;
  padToMultipleOf?: number;
  /** Overrides the tokenizer's paddingSide for this call. */
  paddingSide?: Side;
  /** Default: whether the model takes token_type_ids (modelInputNames). */
  returnTokenTypeIds?: boolean;
  /** Return [batch, length] tensors of this dtype instead of lists (rows must then have one length). */
  returnTensors?: IdDType;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Default: tokenizer_config.json's clean_up_tokenization_spaces (never applied to BPE models, as in transformers). */
  cleanUpTokenizationSpaces?: boolean;
}

export interface ChatTemplateOptions {
  /** End with the header that prompts the assistant's reply. */
  addGenerationPrompt?: boolean;
  /** Leave the final message open for the model to continue (true: its "content"; a string: that field). */
  continueFinalMessage?: boolean | string;
  /** Token ids (default) or the rendered text (false). */
  tokenize?: boolean;
  /** A template name (from the tokenizer's templates) or a template. */
  chatTemplate?: string;
  tools?: readonly object[];
  documents?: readonly object[];
  /** Extra template variables (they win over the special tokens of the same name). */
  variables?: Record<string, unknown>;
}

/**
 * What the tokenizer asks of its model (the part of @huggingface/tokenizers' Tokenizer it uses): a GGUF file's
 * SentencePiece vocabulary, which tokenizer.json cannot express as llama.cpp runs it, brings its own.
 */
export interface TokenizerBackend {
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  tokenize(text: string): string[];
  /** The ids of one text, without the post-processor's special tokens. */
  encode(text: string, options: { add_special_tokens: false }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: false }): string;
}

const maybe = <T>(value: T | undefined): T | null => value ?? null;

export class PreTrainedTokenizer {
  paddingSide: Side;
  truncationSide: Side;
  /** Above 1e20 means "no limit" (transformers' VERY_LARGE_INTEGER when the config sets none). */
  modelMaxLength: number;
  readonly modelInputNames: readonly string[];
  /** One template, or named ones ("default", "tool_use", ...); null when the tokenizer has none. */
  chatTemplate: ChatTemplates | null;
  private readonly backend: TokenizerBackend;
  private readonly postProcessor: PostProcessor;
  private readonly settings: TokenizerSettings;
  private readonly specialTokens: Map<string, string>;
  private readonly modelType: string;
  /** Base vocabulary size, without added tokens (transformers' vocab_size). */
  readonly vocabSize: number;
  /** Every token, added ones included (Python's len(tokenizer)). */
  readonly length: number;

  /**
   * Builds the tokenizer from the parsed files; `AutoTokenizer.fromPretrained(dir)` reads them for you. `backend`
   * replaces tokenizer.json's model (the files then give the vocabulary, added tokens and post-processor).
   */
  constructor(files: TokenizerFiles, backend?: TokenizerBackend) {
    this.settings = readTokenizerSettings(files.config, TOKENIZER_CONFIG_FILE);
    this.specialTokens = new Map(this.settings.specialTokens);
    const json = withSpecialTokens(files.json, [...this.specialTokens.values(), ...this.settings.extraSpecialTokens]);
    this.backend = backend ?? buildBackend(json);
    this.postProcessor = postProcessorFromJSON(json.post_processor);
    this.modelType = json.model.type ?? '';
    const vocab = modelVocab(json);
    this.vocabSize = vocab.size;
    this.length = new Set([...vocab.keys(), ...json.added_tokens.map((t) => t.content)]).size;
    this.paddingSide = this.settings.paddingSide;
    this.truncationSide = this.settings.truncationSide;
    this.modelMaxLength = this.settings.modelMaxLength;
    this.modelInputNames = this.settings.modelInputNames;
    this.chatTemplate = this.settings.chatTemplate;
  }

  static async fromPretrained(dir: string | FileSource): Promise<PreTrainedTokenizer> {
    return new PreTrainedTokenizer(await readTokenizerFiles(dir));
  }

  // ---- special tokens -----------------------------------------------------------------------------------------

  get bosToken(): string | null { return maybe(this.specialTokens.get('bos_token')); }
  get eosToken(): string | null { return maybe(this.specialTokens.get('eos_token')); }
  get unkToken(): string | null { return maybe(this.specialTokens.get('unk_token')); }
  get sepToken(): string | null { return maybe(this.specialTokens.get('sep_token')); }
  get padToken(): string | null { return maybe(this.specialTokens.get('pad_token')); }
  get clsToken(): string | null { return maybe(this.specialTokens.get('cls_token')); }
  get maskToken(): string | null { return maybe(this.specialTokens.get('mask_token')); }
  get bosTokenId(): number | null { return this.idOf(this.bosToken); }
  get eosTokenId(): number | null { return this.idOf(this.eosToken); }
  get unkTokenId(): number | null { return this.idOf(this.unkToken); }
  get sepTokenId(): number | null { return this.idOf(this.sepToken); }
  get padTokenId(): number | null { return this.idOf(this.padToken); }
  get clsTokenId(): number | null { return this.idOf(this.clsToken); }
  get maskTokenId(): number | null { return this.idOf(this.maskToken); }

  /** The usual fix for a tokenizer without one: `tokenizer.padToken = tokenizer.eosToken`. */
  set padToken(token: string | null) {
    if (token === null) {
      this.specialTokens.delete('pad_token');
      return;
    }
    if (this.backend.token_to_id(token) === undefined) {
      throw new TokenizerError('E_TOKENIZER_OPTION', `padToken ${JSON.stringify(token)} is not in the vocabulary; use a token it has, such as eosToken (${JSON.stringify(this.eosToken)})`);
    }
    this.specialTokens.set('pad_token', token);
  }

  /** The named special tokens (bos_token, ..., and model-specific ones such as image_token). */
  get specialTokensMap(): Record<string, string> {
    return Object.fromEntries(this.specialTokens);
  }

  /** Named then extra special tokens, each once. */
  get allSpecialTokens(): string[] {
    return [...new Set([...this.specialTokens.values(), ...this.settings.extraSpecialTokens])];
  }

  get allSpecialIds(): number[] {
    return this.convertTokensToIds(this.allSpecialTokens);
  }

  // ---- vocabulary ---------------------------------------------------------------------------------------------

  /** Ids of tokens; a token the vocabulary lacks maps to the unk token's id. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((token) => {
      const id = this.backend.token_to_id(token) ?? this.unkTokenId;
      if (id === null) {
        throw new TokenizerError('E_TOKEN_ID', `token ${JSON.stringify(token)} is not in the vocabulary and the tokenizer has no unk token; use tokenizer.tokenize(text) to split text into known tokens`);
      }
      return id;
    });
  }

  convertIdsToTokens(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string[] {
    const skip = new Set(options.skipSpecialTokens ? this.allSpecialIds : []);
    return this.checkIds(ids, 'convertIdsToTokens')
      .filter((id) => !skip.has(id))
      .map((id) => this.backend.id_to_token(id)!);
  }

  /** The tokens of `text`, without special tokens. */
  tokenize(text: string): string[] {
    return this.backend.tokenize(checkText(text, 'tokenize'));
  }

  // ---- encoding -----------------------------------------------------------------------------------------------

  /** The ids of one text (and its pair). */
  encode(text: string, options: EncodeOptions & { textPair?: string } = {}): number[] {
    return this.call(text, { ...options, padding: false }).inputIds;
  }

  /** Encodes a batch: padding, truncation and tensors as options ask. Same as `call` with a list. */
  encodeBatch(texts: readonly string[], options: CallOptions & { returnTensors: IdDType }): BatchEncoding<Tensor>;
  encodeBatch(texts: readonly string[], options?: CallOptions): BatchEncoding<number[][]>;
  encodeBatch(texts: readonly string[], options: CallOptions = {}): BatchEncoding<number[][]> | BatchEncoding<Tensor> {
    if (!Array.isArray(texts)) {
      throw new TokenizerError('E_TOKENIZER_OPTION', `encodeBatch takes a list of texts; got ${typeof texts}; use encode(text) for one text`);
    }
    const lists = this.encodeRows(texts, options);
    return options.returnTensors === undefined ? lists : toTensors(lists, checkDType(options.returnTensors));
  }

  /** transformers' tokenizer(text, ...): one text gives one row of lists, a list gives rows (tensors: always rows). */
  call(text: string, options: CallOptions & { returnTensors: IdDType }): BatchEncoding<Tensor>;
  call(text: string, options?: CallOptions): BatchEncoding<number[]>;
  call(texts: readonly string[], options: CallOptions & { returnTensors: IdDType }): BatchEncoding<Tensor>;
  call(texts: readonly string[], options?: CallOptions): BatchEncoding<number[][]>;
  call(text: string | readonly string[], options: CallOptions = {}): BatchEncoding<number[]> | BatchEncoding<number[][]> | BatchEncoding<Tensor> {
    if (Array.isArray(text)) return this.encodeBatch(text as readonly string[], options);
    const one = checkText(text, 'text');
    const pair = options.textPair;
    if (pair !== undefined && typeof pair !== 'string') {
      throw new TokenizerError('E_TOKENIZER_OPTION', 'textPair must be one string when text is one string; pass lists for both to encode a batch of pairs');
    }
    const batch = this.encodeBatch([one], { ...options, textPair: pair === undefined ? undefined : [pair] });
    if (options.returnTensors !== undefined) return batch;
    const out: BatchEncoding<number[]> = { inputIds: batch.inputIds[0]!, attentionMask: batch.attentionMask[0]! };
    if (batch.tokenTypeIds) out.tokenTypeIds = batch.tokenTypeIds[0]!;
    return out;
  }

  private encodeRows(texts: readonly string[], options: CallOptions): BatchEncoding<number[][]> {
    const pairs = checkPairs(texts, options.textPair);
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const side = checkSide(options.paddingSide ?? this.paddingSide, 'paddingSide');
    const { padding, truncation, maxLength } = resolveStrategies(options.padding ?? false, options.truncation, options.maxLength, options.padToMultipleOf, this.modelMaxLength);
    const padId = padding === 'do_not_pad' ? 0 : this.requirePadId();
    const rows = texts.map((text, i): EncodedRow => {
      let a = this.rawIds(checkText(text, 'text'));
      let b = pairs === null ? null : this.rawIds(checkText(pairs[i]!, 'textPair'));
      if (truncation !== null && maxLength !== undefined) {
        const room = maxLength - (addSpecialTokens ? this.postProcessor.addedTokens(b !== null) : 0);
        if (room < 0) {
          throw new TokenizerError('E_TRUNCATION', `maxLength ${maxLength} is shorter than the ${maxLength - room} special tokens this tokenizer adds; use a larger maxLength or addSpecialTokens: false`);
        }
        [a, b] = truncate(a, b, room, truncation, this.truncationSide);
      }
      const { ids, typeIds } = merge(this.postProcessor.process(rawSegments(a, b), addSpecialTokens));
      return { ids, typeIds, mask: ids.map(() => 1) };
    });
    const padded =
      padding === 'do_not_pad'
        ? rows
        : padRows(rows, { length: padding === 'longest' ? 'longest' : maxLength!, padToMultipleOf: options.padToMultipleOf, side, padId, padTypeId: 0 });
    return toLists(padded, options.returnTokenTypeIds ?? this.modelInputNames.includes('token_type_ids'));
  }

  /** The model's ids for one sequence, before special tokens. */
  private rawIds(text: string): number[] {
    return this.backend.encode(text, { add_special_tokens: false }).ids;
  }

  private requirePadId(): number {
    const id = this.padTokenId;
    if (id === null) {
      throw new TokenizerError('E_NO_PAD_TOKEN', 'padding needs a pad token and this tokenizer has none; set one first, e.g. tokenizer.padToken = tokenizer.eosToken');
    }
    return id;
  }

  // ---- decoding -----------------------------------------------------------------------------------------------

  /** The text of token ids (a list or a 1-D tensor). */
  decode(ids: readonly number[] | Tensor, options: DecodeOptions = {}): string {
    const list = this.checkIds(Array.isArray(ids) ? ids : idsOfTensor(ids as Tensor, 1), 'decode');
    if (list.length === 0) return '';
    const text = this.backend.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
    // transformers skips the clean-up for BPE: it strips legitimate spaces before punctuation there.
    const cleanUp = (options.cleanUpTokenizationSpaces ?? this.settings.cleanUpTokenizationSpaces) && (this.modelType !== 'BPE' || this.settings.cleanUpForBpe);
    return cleanUp ? cleanUpTokenization(text) : text;
  }

  /** The texts of rows of ids (lists or a 2-D tensor). */
  batchDecode(rows: readonly (readonly number[])[] | Tensor, options: DecodeOptions = {}): string[] {
    const lists = Array.isArray(rows) ? rows : (idsOfTensor(rows as Tensor, 2) as unknown as number[][]);
    return lists.map((row) => this.decode(row, options));
  }

  private checkIds(ids: readonly number[], caller: string): number[] {
    if (!Array.isArray(ids)) throw new TokenizerError('E_TOKENIZER_OPTION', `${caller} takes a list of token ids; got ${typeof ids}`);
    return ids.map((id) => {
      if (!Number.isInteger(id) || this.backend.id_to_token(id) === undefined) {
        throw new TokenizerError('E_TOKEN_ID', `${caller}: token id ${String(id)} is not in the vocabulary (ids run from 0 to ${this.length - 1}); check that the ids come from this tokenizer and its model`);
      }
      return id;
    });
  }

  private idOf(token: string | null): number | null {
    return token === null ? null : maybe(this.backend.token_to_id(token));
  }

  // ---- chat templates -----------------------------------------------------------------------------------------

  /** Renders a conversation with the tokenizer's chat template; token ids unless `tokenize: false`. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string | number[] {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new TokenizerError('E_TOKENIZER_OPTION', 'applyChatTemplate needs at least one message, e.g. [{ role: "user", content: "Hi" }]');
    }
    const continueFinalMessage = options.continueFinalMessage ?? false;
    if (continueFinalMessage !== false && options.addGenerationPrompt) {
      throw new TokenizerError('E_TOKENIZER_OPTION', 'continueFinalMessage and addGenerationPrompt exclude each other: continue the last message, or open a new assistant one');
    }
    const template = selectChatTemplate(this.chatTemplate, options.chatTemplate, options.tools !== undefined);
    const text = renderChatTemplate(template, messages, {
      addGenerationPrompt: options.addGenerationPrompt ?? false,
      continueFinalMessage,
      tools: options.tools ?? null,
      documents: options.documents ?? null,
      variables: { ...this.specialTokensMap, ...options.variables },
    });
    return options.tokenize === false ? text : this.encode(text, { addSpecialTokens: false });
  }
}

/** Names, in the message, the library's complaint about a tokenizer.json it cannot run. */
function buildBackend(json: TokenizerJSON): Tokenizer {
  try {
    // clean_up is ours to apply (transformers' rules differ from the library's default, which is on).
    return new Tokenizer(json, { clean_up_tokenization_spaces: false });
  } catch (error) {
    throw new TokenizerError('E_TOKENIZER_FILE', `tokenizer.json cannot be loaded: ${(error as Error).message}; check that it was written by the tokenizers library (tokenizer.save(path))`);
  }
}

function checkText(text: unknown, name: string): string {
  if (typeof text !== 'string') throw new TokenizerError('E_TOKENIZER_OPTION', `${name} must be a string; got ${text === null ? 'null' : typeof text}`);
  return text;
}

function checkSide(side: unknown, name: string): Side {
  if (side !== 'left' && side !== 'right') throw new TokenizerError('E_TOKENIZER_OPTION', `${name} must be 'left' or 'right'; got ${JSON.stringify(side)}`);
  return side;
}

function checkDType(dtype: unknown): IdDType {
  if (dtype !== 'int64' && dtype !== 'int32') throw new TokenizerError('E_TOKENIZER_OPTION', `returnTensors must be 'int64' or 'int32' (the dtype of the tensors); got ${JSON.stringify(dtype)}`);
  return dtype;
}

function checkPairs(texts: readonly string[], pairs: string | readonly string[] | undefined): readonly string[] | null {
  if (pairs === undefined) return null;
  if (!Array.isArray(pairs) || pairs.length !== texts.length) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `textPair must be a list with one text per input (${texts.length}); got ${Array.isArray(pairs) ? `${pairs.length} texts` : typeof pairs}`);
  }
  return pairs;
}

function idsOfTensor(ids: Tensor, ndim: number): number[] | number[][] {
  if (typeof (ids as { toArray?: unknown })?.toArray !== 'function' || ids.ndim !== ndim) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `expected a list of token ids or a ${ndim}-D tensor of them; got ${ids === null ? 'null' : typeof ids === 'object' ? `a tensor of shape [${(ids.shape ?? []).join(', ')}]` : typeof ids}`);
  }
  return ids.toArray() as number[] | number[][];
}
