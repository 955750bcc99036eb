// Reading a tokenizer folder: tokenizer.json, tokenizer_config.json, and the files transformers merges into the
// config (special_tokens_map.json, chat_template.jinja, additional_chat_templates/*.jinja).
import { MissingFileError } from '../errors.js';
import { sourceFor } from '../files/default.js';
import { joinName, type FileSource } from '../files/types.js';
import { TokenizerError } from './errors.js';
import { checkTokenizerJSON, type TokenizerJSON } from './tokenizer-json.js';

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
const SPECIAL_TOKENS_MAP_FILE = 'special_tokens_map.json';
const CHAT_TEMPLATE_FILE = 'chat_template.jinja';
const CHAT_TEMPLATE_DIR = 'additional_chat_templates';

export interface TokenizerFiles {
  json: TokenizerJSON;
  /** tokenizer_config.json with the other files merged in, as transformers' from_pretrained builds it. */
  config: Record<string, unknown>;
}

/** A file's text, or null when it does not exist. */
async function readOptional(source: FileSource, name: string): Promise<string | null> {
  try {
    return await source.readText(name);
  } catch (error) {
    throw new TokenizerError('E_TOKENIZER_FILE', `${source.describe(name)} cannot be read: ${(error as Error).message}`);
  }
}

function parseJSON(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenizerError('E_TOKENIZER_FILE', `${path} is not valid JSON (${(error as Error).message}); re-save it from Python with tokenizer.save_pretrained(dir)`);
  }
}

function parseObject(text: string, path: string): Record<string, unknown> {
  const value = parseJSON(text, path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenizerError('E_TOKENIZER_FILE', `${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Named templates from additional_chat_templates/<name>.jinja (none when the folder is absent). */
async function extraChatTemplates(source: FileSource): Promise<Record<string, string>> {
  const names = await source.list(CHAT_TEMPLATE_DIR);
  const templates: Record<string, string> = {};
  for (const name of names.filter((n) => n.endsWith('.jinja')).sort()) {
    templates[name.slice(0, -'.jinja'.length)] = (await readOptional(source, joinName(CHAT_TEMPLATE_DIR, name))) ?? '';
  }
  return templates;
}

/**
 * Template files take priority over tokenizer_config.json's chat_template: chat_template.jinja is "default",
 * each additional template is named by its file; a lone default is stored as a plain string.
 */
async function mergeChatTemplates(source: FileSource, config: Record<string, unknown>): Promise<void> {
  const main = await readOptional(source, CHAT_TEMPLATE_FILE);
  const templates: Record<string, string> = { ...(main === null ? {} : { default: main }), ...(await extraChatTemplates(source)) };
  const names = Object.keys(templates);
  if (names.length === 1 && names[0] === 'default') config.chat_template = templates.default;
  else if (names.length > 0) config.chat_template = Object.entries(templates).map(([name, template]) => ({ name, template }));
}

/** Reads the tokenizer of a model folder (a path or any FileSource). A missing folder or tokenizer.json is a MissingFileError. */
export async function readTokenizerFiles(dir: string | FileSource): Promise<TokenizerFiles> {
  const source = sourceFor(dir);
  if (!(await source.exists())) {
    throw new MissingFileError([source.describe()], 'AutoTokenizer.fromPretrained takes the folder that holds tokenizer.json');
  }
  const jsonPath = source.describe(TOKENIZER_FILE);
  const jsonText = await readOptional(source, TOKENIZER_FILE);
  if (jsonText === null) {
    throw new MissingFileError([jsonPath], 'peftjs reads fast tokenizers only; save one from Python with AutoTokenizer.from_pretrained(...).save_pretrained(dir)');
  }
  const json = checkTokenizerJSON(parseJSON(jsonText, jsonPath), jsonPath);
  const configPath = source.describe(TOKENIZER_CONFIG_FILE);
  const configText = await readOptional(source, TOKENIZER_CONFIG_FILE);
  const config = configText === null ? {} : parseObject(configText, configPath);
  // Legacy special_tokens_map.json: read only when the config has no added_tokens_decoder, and it wins.
  if (!('added_tokens_decoder' in config)) {
    const mapPath = source.describe(SPECIAL_TOKENS_MAP_FILE);
    const mapText = await readOptional(source, SPECIAL_TOKENS_MAP_FILE);
    if (mapText !== null) Object.assign(config, parseObject(mapText, mapPath));
  }
  await mergeChatTemplates(source, config);
  return { json, config };
}
