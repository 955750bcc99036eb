// Reading a tokenizer folder: tokenizer.json, tokenizer_config.json, and the files transformers merges into the
// config (special_tokens_map.json, chat_template.jinja, additional_chat_templates/*.jinja).
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingFileError } from '../errors.js';
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
async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TokenizerError('E_TOKENIZER_FILE', `${path} cannot be read: ${(error as Error).message}`);
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
async function extraChatTemplates(dir: string): Promise<Record<string, string>> {
  const folder = join(dir, CHAT_TEMPLATE_DIR);
  const names = await readdir(folder).catch(() => [] as string[]);
  const templates: Record<string, string> = {};
  for (const name of names.filter((n) => n.endsWith('.jinja')).sort()) {
    templates[name.slice(0, -'.jinja'.length)] = (await readOptional(join(folder, name))) ?? '';
  }
  return templates;
}

/**
 * Template files take priority over tokenizer_config.json's chat_template: chat_template.jinja is "default",
 * each additional template is named by its file; a lone default is stored as a plain string.
 */
async function mergeChatTemplates(dir: string, config: Record<string, unknown>): Promise<void> {
  const main = await readOptional(join(dir, CHAT_TEMPLATE_FILE));
  const templates: Record<string, string> = { ...(main === null ? {} : { default: main }), ...(await extraChatTemplates(dir)) };
  const names = Object.keys(templates);
  if (names.length === 1 && names[0] === 'default') config.chat_template = templates.default;
  else if (names.length > 0) config.chat_template = Object.entries(templates).map(([name, template]) => ({ name, template }));
}

/** Reads the tokenizer of a model folder. A missing folder or tokenizer.json is a MissingFileError. */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const isFolder = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new MissingFileError([dir], 'AutoTokenizer.fromPretrained takes the folder that holds tokenizer.json');
  const jsonPath = join(dir, TOKENIZER_FILE);
  const jsonText = await readOptional(jsonPath);
  if (jsonText === null) {
    throw new MissingFileError([jsonPath], 'peftjs reads fast tokenizers only; save one from Python with AutoTokenizer.from_pretrained(...).save_pretrained(dir)');
  }
  const json = checkTokenizerJSON(parseJSON(jsonText, jsonPath), jsonPath);
  const configPath = join(dir, TOKENIZER_CONFIG_FILE);
  const configText = await readOptional(configPath);
  const config = configText === null ? {} : parseObject(configText, configPath);
  // Legacy special_tokens_map.json: read only when the config has no added_tokens_decoder, and it wins.
  if (!('added_tokens_decoder' in config)) {
    const mapPath = join(dir, SPECIAL_TOKENS_MAP_FILE);
    const mapText = await readOptional(mapPath);
    if (mapText !== null) Object.assign(config, parseObject(mapText, mapPath));
  }
  await mergeChatTemplates(dir, config);
  return { json, config };
}
