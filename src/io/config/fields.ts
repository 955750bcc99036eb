// Typed reads of config.json fields with Hugging Face's defaults. An absent field takes the
// default; a field of the wrong type is a ConfigError naming it. null is a value only for fields
// HF allows to be None (the `nullable` readers); elsewhere it means "not set", as HF treats None
// for derived defaults (n_inner, head_dim, num_key_value_heads, ...).
import { ConfigError } from '../errors.js';

export type Json = Readonly<Record<string, unknown>>;

export class Fields {
  constructor(
    /** The object the fields are read from. */
    readonly raw: Json,
    /** The file, for error messages. */
    readonly path: string,
    /** Prefix of nested field names (`rope_parameters.`). */
    private readonly prefix = '',
  ) {}

  /** A nested object, or undefined where the field is absent or null. */
  object(name: string): Fields | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (!isJsonObject(v)) return this.fail(name, 'an object', v);
    return new Fields(v, this.path, `${this.prefix}${name}.`);
  }

  has(name: string): boolean {
    return this.value(name) !== undefined;
  }

  /** An integer >= `min` (default 1: sizes and counts). */
  int(name: string, fallback: number, min = 1): number {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) return this.fail(name, `an integer >= ${min}`, v);
    return v;
  }

  /** A finite number >= `min`. */
  number(name: string, fallback: number, min = -Infinity): number {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) return this.fail(name, `a number >= ${min}`, v);
    return v;
  }

  /** A dropout probability in [0, 1]. */
  probability(name: string, fallback: number): number {
    const p = this.number(name, fallback, 0);
    if (p > 1) return this.fail(name, 'a probability in [0, 1]', p);
    return p;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') return this.fail(name, 'true or false', v);
    return v;
  }

  string(name: string, fallback: string): string {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') return this.fail(name, 'a string', v);
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      return this.fail(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
    }
    return v as T;
  }

  /** An integer >= `min` (default 0) that may be null (token ids, sliding windows). */
  nullableInt(name: string, fallback: number | null, min = 0): number | null {
    if (this.isNull(name)) return null;
    return this.has(name) ? this.int(name, 0, min) : fallback;
  }

  nullableNumber(name: string, fallback: number | null, min = -Infinity): number | null {
    if (this.isNull(name)) return null;
    return this.has(name) ? this.number(name, 0, min) : fallback;
  }

  nullableString(name: string, fallback: string | null): string | null {
    if (this.isNull(name)) return null;
    return this.has(name) ? this.string(name, '') : fallback;
  }

  /** A token id, or a list of them (Llama 3 has several eos tokens), or null. */
  tokenIds(name: string, fallback: number | null): number | number[] | null {
    const v = this.value(name);
    if (!Array.isArray(v)) return this.nullableInt(name, fallback);
    if (!v.every((id) => Number.isInteger(id) && id >= 0)) {
      return this.fail(name, 'a token id or a list of token ids', v);
    }
    return [...(v as number[])];
  }

  /** An array of strings. */
  strings(name: string, fallback: readonly string[]): string[] {
    const v = this.value(name);
    if (v === undefined) return [...fallback];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return this.fail(name, 'an array of strings', v);
    return [...(v as string[])];
  }

  /** Throws a ConfigError for a required field that is absent. */
  missing(name: string, why: string): never {
    throw new ConfigError(this.path, `is missing; ${why}`, this.prefix + name);
  }

  /** Throws a ConfigError for field `name`. */
  fail(name: string, expected: string, got: unknown): never {
    throw new ConfigError(this.path, `must be ${expected}; it is ${describe(got)}`, this.prefix + name);
  }

  /** The field's value, with null read as absent. */
  private value(name: string): unknown {
    const v = Object.hasOwn(this.raw, name) ? this.raw[name] : undefined;
    return v === null ? undefined : v;
  }

  private isNull(name: string): boolean {
    return Object.hasOwn(this.raw, name) && this.raw[name] === null;
  }
}

export function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `the array ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'object') return 'an object';
  return `${truncate(JSON.stringify(value))} (${typeof value})`;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
