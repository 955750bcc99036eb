// Reading a recipe: YAML parsed with positions kept, command-line overrides applied, then the
// schema; an error names the key, its line in the file and what was expected.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, parse as parseYamlValue, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { PeftError } from '../../tensor/errors.js';
import { configFromJson, type PeftConfig } from '../../peft/index.js';
import type { Json } from '../../peft/config/base.js';
import { recipeSchema, type Recipe } from './schema.js';

/** A recipe that is not valid YAML, or a field with the wrong name, type or value. */
export class RecipeError extends PeftError {
  constructor(message: string) {
    super('E_RECIPE', message);
  }
}

/** `key.path=value` overrides (value read as YAML: numbers, booleans, lists). */
export type Overrides = readonly (readonly [string, unknown])[];

export function parseOverride(text: string): [string, unknown] {
  const at = text.indexOf('=');
  if (at <= 0) throw new RecipeError(`--set takes key.path=value (e.g. training.lr=1e-3), not '${text}'`);
  return [text.slice(0, at), parseYamlValue(text.slice(at + 1)) as unknown];
}

export async function loadRecipe(path: string, overrides: Overrides = []): Promise<Recipe> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new RecipeError(`cannot read recipe ${path}: ${error.message}`);
  });
  return parseRecipe(text, path, overrides);
}

export function parseRecipe(text: string, path: string, overrides: Overrides = []): Recipe {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const at = lines.linePos(yamlError.pos[0]);
    throw new RecipeError(`${path}:${at.line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  if (!isMap(doc.contents)) throw new RecipeError(`${path}: a recipe is a YAML mapping (model:, method:, data:, training:, output:)`);
  for (const [key, value] of overrides) doc.setIn(key.split('.'), value);
  const parsed = recipeSchema.safeParse(doc.toJS());
  if (!parsed.success) throw new RecipeError(describeIssues(parsed.error.issues, doc, lines, path, new Set(overrides.map(([k]) => k))));
  const unknownMethodKeys = Object.keys(methodConfig(parsed.data.method, null, path).extra);
  if (unknownMethodKeys.length > 0) {
    const where = unknownMethodKeys.map((k) => `${path}:line ${lineOf(doc, ['method', k], lines) ?? '?'}: method.${k}: unknown ${parsed.data.method.peft_type} option`);
    throw new RecipeError(`invalid recipe:\n${where.join('\n')}; check the spelling against HF PEFT's adapter_config.json fields`);
  }
  return relativeTo(parsed.data, dirname(path));
}

/** The recipe's method section (adapter_config.json fields) as a parsed PEFT config; task_type defaults to the data's. */
export function methodConfig(method: Recipe['method'], taskType: string | null, path: string): PeftConfig {
  try {
    return configFromJson({ ...(taskType === null ? {} : { task_type: taskType }), ...method } as Json, `${path}: method`).config;
  } catch (error) {
    if (error instanceof PeftError) throw new RecipeError(error.message);
    throw error;
  }
}

function describeIssues(issues: readonly z.core.$ZodIssue[], doc: Document, lines: LineCounter, path: string, overridden: Set<string>): string {
  const messages = issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    return keys.map((key) => {
      const name = key.join('.') || '(top level)';
      const where = overridden.has(name) ? 'from --set' : `line ${lineOf(doc, key, lines) ?? '?'}`;
      const what = issue.code === 'unrecognized_keys' ? `unknown key; ${expectedKeys(issue.path)}` : `${issue.message}`;
      return `${path}:${where}: ${name}: ${what}`;
    }).join('\n');
  });
  return `invalid recipe:\n${messages.join('\n')}`;
}

/** The line of the key at `keyPath` (the value's line when the key is missing, the parent's when neither is). */
function lineOf(doc: Document, keyPath: readonly PropertyKey[], lines: LineCounter): number | undefined {
  for (let depth = keyPath.length; depth >= 0; depth--) {
    const parent = depth === 0 ? doc.contents : (doc.getIn(keyPath.slice(0, depth - 1) as unknown[], true) as Node | undefined);
    if (depth === 0) return parent?.range ? lines.linePos(parent.range[0]).line : undefined;
    if (!isMap(parent)) continue;
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(keyPath[depth - 1]));
    const node = (pair?.key ?? undefined) as Node | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function expectedKeys(parentPath: readonly PropertyKey[]): string {
  let schema: z.ZodType = recipeSchema;
  for (const key of parentPath) {
    const def = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape?.[String(key)];
    if (def === undefined) return '';
    schema = unwrap(def);
  }
  const shape = (unwrap(schema) as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? `expected one of ${Object.keys(shape).join(', ')}` : '';
}

function unwrap(schema: z.ZodType): z.ZodType {
  const inner = (schema as unknown as { unwrap?: () => z.ZodType; def: { innerType?: z.ZodType } });
  if (inner.def.innerType !== undefined) return unwrap(inner.def.innerType);
  return inner.unwrap ? unwrap(inner.unwrap()) : schema;
}

/** Paths in the recipe are relative to the recipe's folder. */
function relativeTo(recipe: Recipe, base: string): Recipe {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const data = { ...recipe.data, train: at(recipe.data.train), ...(recipe.data.eval ? { eval: at(recipe.data.eval) } : {}) };
  if (data.cache_dir !== undefined) data.cache_dir = at(data.cache_dir);
  return { ...recipe, model: at(recipe.model), output: at(recipe.output), data };
}
