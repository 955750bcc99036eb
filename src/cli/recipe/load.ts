// Reading a recipe: YAML parsed with positions kept, command-line overrides applied, then the
// schema; an error names the file and line (`r.yaml:4:`), the key and what was expected.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, parse as parseYamlValue, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { PeftError } from '../../tensor/errors.js';
import { ConfigError } from '../../io/errors.js';
import { configFromJson, type PeftConfig } from '../../peft/index.js';
import type { Json } from '../../peft/config/base.js';
import { jobSchema, multiRecipeSchema, recipeSchema, type JobRecipe, type MultiRecipe, type Recipe } from './schema.js';

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
  return parseRecipe(await readRecipe(path), path, overrides);
}

export function parseRecipe(text: string, path: string, overrides: Overrides = []): Recipe {
  const yaml = readDocument(text, path, overrides, 'a recipe is a YAML mapping (model:, method:, data:, training:, output:)');
  const recipe = validate(recipeSchema, yaml, path, overrides);
  checkMethod(recipe.method, ['method'], locate(yaml, path, overrides));
  return relativeTo(recipe, dirname(path));
}

/** True when the recipe text describes a concurrent run (it has jobs:). */
export function isMultiRecipe(text: string): boolean {
  const doc = parseDocument(text, { prettyErrors: false });
  return doc.errors.length === 0 && isMap(doc.contents) && doc.has('jobs');
}

export async function loadMultiRecipe(path: string, overrides: Overrides = []): Promise<MultiRecipe> {
  return parseMultiRecipe(await readRecipe(path), path, overrides);
}

/** A concurrent run's recipe; each job's training is the run's training with the job's own fields over it. */
export function parseMultiRecipe(text: string, path: string, overrides: Overrides = []): MultiRecipe {
  const yaml = readDocument(text, path, overrides, 'a recipe is a YAML mapping (model:, training:, jobs:, output:)');
  // The run's data: fields are defaults of every job's (filled in before the jobs are checked).
  const raw = yaml.doc.toJS() as { data?: Record<string, unknown>; jobs?: unknown };
  if (isPlainObject(raw.data) && Array.isArray(raw.jobs)) {
    raw.jobs = raw.jobs.map((job: unknown) => (isPlainObject(job) ? { ...job, data: { ...raw.data, ...(isPlainObject(job.data) ? job.data : {}) } } : job));
  }
  const recipe = validate(multiRecipeSchema, yaml, path, overrides, raw);
  recipe.jobs.forEach((job, i) => checkMethod(job.method, ['jobs', i, 'method'], locate(yaml, path, overrides)));
  const base = dirname(path);
  return {
    ...recipe,
    model: at(base, recipe.model),
    output: at(base, recipe.output),
    jobs: recipe.jobs.map((job) => jobRelativeTo({ ...job, training: { ...recipe.training, ...job.training } }, base)) as MultiRecipe['jobs'],
  };
}

/** A job file (one entry of jobs:, as its own YAML file); paths are relative to its folder. */
export function parseJobFile(text: string, path: string): JobRecipe {
  const yaml = readDocument(text, path, [], 'a job file is a YAML mapping (name:, method:, data:, training:, output:)');
  const job = validate(jobSchema, yaml, path, []);
  checkMethod(job.method, ['method'], locate(yaml, path, []));
  return jobRelativeTo(job, dirname(path));
}

async function readRecipe(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((error: Error) => {
    throw new RecipeError(`cannot read recipe ${path}: ${error.message}`);
  });
}

interface Yaml {
  doc: Document;
  lines: LineCounter;
}

function readDocument(text: string, path: string, overrides: Overrides, shape: string): Yaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const at = lines.linePos(yamlError.pos[0]);
    throw new RecipeError(`${path}:${at.line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  if (!isMap(doc.contents)) throw new RecipeError(`${path}: ${shape}`);
  for (const [key, value] of overrides) doc.setIn(key.split('.'), value);
  return { doc, lines };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a key comes from, as errors say it: `r.yaml:4` (its line), or `r.yaml: from --set`. */
type Locate = (key: readonly PropertyKey[]) => string;

function locate({ doc, lines }: Yaml, path: string, overrides: Overrides): Locate {
  const overridden = new Set(overrides.map(([k]) => k));
  return (key) => (overridden.has(key.join('.')) ? `${path}: from --set` : `${path}:${lineOf(doc, key, lines) ?? '?'}`);
}

function validate<S extends z.ZodType>(schema: S, yaml: Yaml, path: string, overrides: Overrides, value: unknown = yaml.doc.toJS()): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RecipeError(describeIssues(schema, parsed.error.issues, locate(yaml, path, overrides)));
  return parsed.data;
}

/** Parses a method section once here, so that a bad or unknown option names its line. */
function checkMethod(method: Recipe['method'], keyPath: readonly PropertyKey[], where: Locate): void {
  const name = keyPath.join('.');
  let config: PeftConfig;
  try {
    config = configFromJson(method as Json, name).config;
  } catch (error) {
    if (!(error instanceof PeftError)) throw error;
    const field = error instanceof ConfigError ? error.field : undefined;
    if (field === undefined) throw new RecipeError(`${where(keyPath)}: ${error.message}`);
    throw new RecipeError(`${where([...keyPath, ...field.split('.')])}: ${name}.${field} ${(error as ConfigError).detail}`);
  }
  const unknown = Object.keys(config.extra);
  if (unknown.length === 0) return;
  const lines = unknown.map((k) => `${where([...keyPath, k])}: ${name}.${k}: unknown ${method.peft_type} option`);
  throw new RecipeError(`invalid recipe:\n${lines.join('\n')}; check the spelling against HF PEFT's adapter_config.json fields`);
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

function describeIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], where: Locate): string {
  const messages = issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    return keys.map((key) => {
      const name = key.join('.') || '(top level)';
      const what = issue.code === 'unrecognized_keys' ? `unknown key; ${expectedKeys(schema, issue.path)}` : `${issue.message}`;
      return `${where(key)}: ${name}: ${what}`;
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

function expectedKeys(root: z.ZodType, parentPath: readonly PropertyKey[]): string {
  let schema = root;
  for (const key of parentPath) {
    const inner = schema as unknown as { shape?: Record<string, z.ZodType>; element?: z.ZodType };
    const def = typeof key === 'number' ? inner.element : inner.shape?.[String(key)];
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

const at = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));

/** The data section's paths, relative to `base`. */
function dataRelativeTo(data: Recipe['data'], base: string): Recipe['data'] {
  const out = { ...data, train: at(base, data.train), ...(data.eval ? { eval: at(base, data.eval) } : {}) };
  if (out.cache_dir !== undefined) out.cache_dir = at(base, out.cache_dir);
  return out;
}

/** Paths in the recipe are relative to the recipe's folder. */
function relativeTo(recipe: Recipe, base: string): Recipe {
  return { ...recipe, model: at(base, recipe.model), output: at(base, recipe.output), data: dataRelativeTo(recipe.data, base) };
}

function jobRelativeTo(job: JobRecipe, base: string): JobRecipe {
  return {
    ...job, data: dataRelativeTo(job.data, base),
    ...(job.model !== undefined ? { model: at(base, job.model) } : {}), ...(job.output !== undefined ? { output: at(base, job.output) } : {}),
  };
}
