// GGUF metadata values (typed as the file types them) and a map with typed accessors whose errors
// name the key, what it holds and what was expected.
import { GgufFormatError } from './errors.js';
import type { GgufValueTypeName } from './format.js';

export type GgufIntegerTypeName = 'UINT8' | 'INT8' | 'UINT16' | 'INT16' | 'UINT32' | 'INT32';
export type GgufNumberTypeName = GgufIntegerTypeName | 'FLOAT32' | 'FLOAT64';
export type GgufArrayItemTypeName = Exclude<GgufValueTypeName, 'ARRAY'>;

/** One metadata value with its file type. 64-bit integers are bigints; numeric arrays read as typed arrays. */
export type GgufValue =
  | { readonly type: 'STRING'; readonly value: string }
  | { readonly type: 'BOOL'; readonly value: boolean }
  | { readonly type: GgufNumberTypeName; readonly value: number }
  | { readonly type: 'UINT64' | 'INT64'; readonly value: bigint }
  | GgufArrayValue;

export type GgufArrayValue =
  | { readonly type: 'ARRAY'; readonly itemType: 'STRING'; readonly value: readonly string[] }
  | { readonly type: 'ARRAY'; readonly itemType: 'BOOL'; readonly value: readonly boolean[] }
  | { readonly type: 'ARRAY'; readonly itemType: GgufNumberTypeName; readonly value: ArrayLike<number> }
  | { readonly type: 'ARRAY'; readonly itemType: 'UINT64' | 'INT64'; readonly value: ArrayLike<bigint> };

/** Constructors for values to write: `gguf.u32(22)`, `gguf.str('llama')`, `gguf.strings(tokens)`. */
export const gguf = {
  str: (value: string): GgufValue => ({ type: 'STRING', value }),
  bool: (value: boolean): GgufValue => ({ type: 'BOOL', value }),
  u32: (value: number): GgufValue => ({ type: 'UINT32', value }),
  i32: (value: number): GgufValue => ({ type: 'INT32', value }),
  f32: (value: number): GgufValue => ({ type: 'FLOAT32', value }),
  u64: (value: bigint | number): GgufValue => ({ type: 'UINT64', value: BigInt(value) }),
  strings: (value: readonly string[]): GgufValue => ({ type: 'ARRAY', itemType: 'STRING', value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: 'ARRAY', itemType: 'FLOAT32', value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: 'ARRAY', itemType: 'INT32', value }),
};

/** Read-only metadata of one file, in file order, with checked accessors. */
export class GgufMetadata {
  constructor(
    /** The file the metadata came from (named in errors). */
    readonly path: string,
    readonly entries: ReadonlyMap<string, GgufValue>,
  ) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): GgufValue | undefined {
    return this.entries.get(key);
  }

  /** A string value; undefined when absent. */
  string(key: string): string | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'STRING') this.wrong(key, v, 'a string');
    return v.value as string;
  }

  /** A numeric scalar of any width (64-bit ones must fit 2^53); undefined when absent. */
  number(key: string): number | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    if (v.type === 'UINT64' || v.type === 'INT64') {
      if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < -BigInt(Number.MAX_SAFE_INTEGER)) {
        this.wrong(key, v, 'a number below 2^53');
      }
      return Number(v.value);
    }
    if (typeof v.value !== 'number') this.wrong(key, v, 'a number');
    return v.value as number;
  }

  /** A non-negative integer of any integer type; undefined when absent. */
  count(key: string): number | undefined {
    const n = this.number(key);
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) this.wrong(key, this.entries.get(key)!, 'an integer >= 0');
    return n;
  }

  bool(key: string): boolean | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'BOOL') this.wrong(key, v, 'a bool');
    return v.value as boolean;
  }

  /** An array of strings; undefined when absent. */
  strings(key: string): readonly string[] | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'ARRAY' || v.itemType !== 'STRING') this.wrong(key, v, 'an array of strings');
    return v.value as readonly string[];
  }

  /** An array of numbers (any type but 64-bit integers, strings and bools); undefined when absent. */
  numbers(key: string): ArrayLike<number> | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'ARRAY' || ['STRING', 'BOOL', 'UINT64', 'INT64'].includes(v.itemType)) {
      this.wrong(key, v, 'an array of numbers');
    }
    return v.value as ArrayLike<number>;
  }

  private wrong(key: string, v: GgufValue, expected: string): never {
    throw new GgufFormatError(this.path, `must be ${expected}; it is ${describeValue(v)}`, key);
  }
}

/** A short description of a value for error messages: `UINT32 7`, `ARRAY of 3 STRING`. */
export function describeValue(v: GgufValue): string {
  if (v.type === 'ARRAY') return `ARRAY of ${v.value.length} ${v.itemType}`;
  const shown = typeof v.value === 'string' ? JSON.stringify(v.value.slice(0, 40)) : String(v.value);
  return `${v.type} ${shown}`;
}
