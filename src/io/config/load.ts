// config.json -> the typed config of its architecture family, chosen by model_type (as HF's
// AutoConfig does) or, where that is absent, by the class name in architectures[0].
import { ConfigError, MissingFileError, UnknownArchitectureError } from '../errors.js';
import { parseBertConfig, parseRobertaConfig, type BertConfig } from './bert.js';
import { isJsonObject, type Json } from './fields.js';
import { parseGPT2Config, type GPT2Config } from './gpt2.js';
import { parseLlamaConfig, type LlamaConfig } from './llama.js';
import { parseMistralConfig, type MistralConfig } from './mistral.js';
import { parseQwen2Config, type Qwen2Config } from './qwen2.js';
import { parseT5Config, type T5Config } from './t5.js';
import { parseViTConfig, type ViTConfig } from './vit.js';
import { locateFile } from '../files/default.js';
import type { FileSource } from '../files/types.js';

/** A parsed config; switch on `model_type` to narrow it. */
export type ModelConfig = GPT2Config | LlamaConfig | Qwen2Config | MistralConfig | BertConfig | T5Config | ViTConfig;

const PARSERS = {
  gpt2: parseGPT2Config,
  llama: parseLlamaConfig,
  qwen2: parseQwen2Config,
  mistral: parseMistralConfig,
  bert: parseBertConfig,
  roberta: parseRobertaConfig,
  t5: parseT5Config,
  vit: parseViTConfig,
} satisfies Record<string, (raw: Json, path: string) => ModelConfig>;

export type ModelType = keyof typeof PARSERS;
export const MODEL_TYPES = Object.keys(PARSERS) as ModelType[];

/** Class-name prefix of each family in `architectures` (GPT2LMHeadModel, LlamaForCausalLM, ...). */
const CLASS_PREFIXES: Record<ModelType, string> = {
  gpt2: 'GPT2',
  llama: 'Llama',
  qwen2: 'Qwen2',
  mistral: 'Mistral',
  bert: 'Bert',
  roberta: 'Roberta',
  t5: 'T5',
  vit: 'ViT',
};
/** What may follow the prefix: Model, LMHeadModel, EncoderModel, DoubleHeadsModel, For<Task>. */
const CLASS_SUFFIX = /^(Model|LMHeadModel|EncoderModel|DoubleHeadsModel|WithLMHeadModel|For[A-Z]\w*)$/;

/** Reads `config.json` from a model folder (a path or any FileSource), or the file itself given its path. */
export async function loadConfig(folderOrFile: string | FileSource): Promise<ModelConfig> {
  const { source, name } = await locateFile(folderOrFile, 'config.json');
  const path = source.describe(name);
  const text = await source.readText(name).catch((error: unknown) => {
    throw new ConfigError(path, `cannot be read: ${(error as Error).message}`);
  });
  if (text === null) throw new MissingFileError([path], 'a model folder holds its config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, `is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(raw, path);
}

/** Parses a config object (as read from config.json), filling HF's defaults. */
export function parseConfig(raw: unknown, path = 'config.json'): ModelConfig {
  if (!isJsonObject(raw)) throw new ConfigError(path, 'must hold a JSON object');
  return PARSERS[modelType(raw, path)](raw, path);
}

function modelType(raw: Json, path: string): ModelType {
  const declared = raw.model_type;
  if (declared !== undefined) {
    if (typeof declared !== 'string') {
      throw new ConfigError(path, `must be a string; it is ${JSON.stringify(declared)}`, 'model_type');
    }
    if (Object.hasOwn(PARSERS, declared)) return declared as ModelType;
    throw new UnknownArchitectureError(path, declared, MODEL_TYPES);
  }
  const architecture = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
  if (typeof architecture !== 'string') {
    throw new ConfigError(
      path,
      `names no model_type and no architectures; peftjs supports model_type ${MODEL_TYPES.join(', ')}`,
    );
  }
  const found = MODEL_TYPES.find(
    (t) =>
      architecture.startsWith(CLASS_PREFIXES[t]) && CLASS_SUFFIX.test(architecture.slice(CLASS_PREFIXES[t].length)),
  );
  if (found === undefined) throw new UnknownArchitectureError(path, architecture, MODEL_TYPES);
  return found;
}
