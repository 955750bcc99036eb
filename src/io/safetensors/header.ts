// Validation of a safetensors header, before anything is allocated for the tensors it describes.
// The rules are the reference implementation's (Rust `safetensors`): a JSON object of tensor
// entries {dtype, shape, data_offsets} plus an optional "__metadata__" string map; every
// tensor's byte length is its shape times its dtype size; sorted by offset, the tensors tile the
// data buffer exactly (no gap, no overlap, nothing after the last one). We also reject duplicate
// names, which the reference silently resolves to the last one.
import { SafetensorsError } from '../errors.js';
import { FORMAT_DTYPES, UNSUPPORTED_DTYPES, isFormatDType, type SafetensorsDType } from './dtypes.js';
import { JsonSyntaxError, parseStrictJson, type JsonValue } from './json.js';

/** The reference implementation refuses headers larger than this. */
export const MAX_HEADER_BYTES = 100_000_000;
export const METADATA_KEY = '__metadata__';

/** One tensor of a header; offsets are relative to the start of the data buffer. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface Header {
  /** In the file's offset order. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** The "__metadata__" map; undefined where the header has none (or null), as Python reports None. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
}

/** Checks the 8-byte header length against the file size; returns it as a number. */
export function checkHeaderLength(length: bigint, fileSize: number, path: string): number {
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      path,
      `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file or it is corrupt`,
    );
  }
  if (length > BigInt(fileSize - 8)) {
    throw new SafetensorsError(
      path,
      `header length ${length} runs past the end of the ${fileSize}-byte file; the file is truncated or not safetensors`,
    );
  }
  return Number(length);
}

/** Decodes and validates header bytes for a data buffer of `dataLength` bytes. */
export function parseHeader(bytes: Uint8Array, dataLength: number, path: string): Header {
  const root = parseJson(decodeUtf8(bytes, path), path);
  if (!(root instanceof Map)) {
    throw new SafetensorsError(path, `the header must be a JSON object; it is ${describe(root)}`);
  }
  let metadata: Record<string, string> | undefined;
  const entries: TensorEntry[] = [];
  for (const [name, value] of root) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, path);
    else entries.push(parseEntry(name, value, dataLength, path));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTiling(entries, dataLength, path);
  return { tensors: new Map(entries.map((e) => [e.name, e])), metadata };
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(path, 'the header is not valid UTF-8');
  }
}

function parseJson(text: string, path: string): JsonValue {
  try {
    return parseStrictJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new SafetensorsError(path, `the header is not valid JSON: ${error.message}`);
    }
    throw error;
  }
}

function parseMetadata(value: JsonValue, path: string): Record<string, string> | undefined {
  if (value === null) return undefined;
  if (!(value instanceof Map)) {
    throw new SafetensorsError(path, `"${METADATA_KEY}" must be an object of strings; it is ${describe(value)}`);
  }
  for (const [key, v] of value) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        path,
        `"${METADATA_KEY}" values must be strings; ${JSON.stringify(key)} is ${describe(v)}`,
      );
    }
  }
  return Object.fromEntries(value as Map<string, string>);
}

function parseEntry(name: string, value: JsonValue, dataLength: number, path: string): TensorEntry {
  const fail = (message: string): never => {
    throw new SafetensorsError(path, message, name);
  };
  if (!(value instanceof Map)) {
    return fail(`the entry must be an object {dtype, shape, data_offsets}; it is ${describe(value)}`);
  }
  const dtype = parseDType(value.get('dtype'), fail);
  const shape = integers(value.get('shape'), 'shape', fail);
  const offsets = integers(value.get('data_offsets'), 'data_offsets', fail);
  if (offsets.length !== 2) fail(`data_offsets must be [begin, end]; it has ${offsets.length} values`);
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) fail(`data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data buffer`);
  const bytes = byteLength(shape, FORMAT_DTYPES[dtype].bytes);
  if (bytes !== end - begin) {
    fail(
      `shape [${shape.join(', ')}] of ${dtype} needs ${bytes > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : bytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

function parseDType(value: JsonValue | undefined, fail: (message: string) => never): SafetensorsDType {
  if (typeof value !== 'string') return fail(`dtype must be a string; it is ${describe(value)}`);
  if (isFormatDType(value)) return value;
  const known = Object.keys(FORMAT_DTYPES).join(', ');
  if (UNSUPPORTED_DTYPES.includes(value)) return fail(`dtype ${value} cannot be loaded by peftjs (it reads ${known})`);
  return fail(`unknown dtype ${describe(value)}; safetensors dtypes peftjs reads are ${known}`);
}

/** An array of integers in [0, 2^53). */
function integers(value: JsonValue | undefined, field: string, fail: (message: string) => never): number[] {
  if (!Array.isArray(value)) {
    return fail(`${field} must be an array of non-negative integers; it is ${describe(value)}`);
  }
  return value.map((v) => {
    if (typeof v !== 'bigint' || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(`${field} must hold non-negative integers below 2^53; it holds ${describe(v)}`);
    }
    return Number(v);
  });
}

/** Elements times element size; any value above 2^53 stands for "too large" (no overflow). */
function byteLength(shape: readonly number[], elementBytes: number): number {
  if (shape.includes(0)) return 0;
  let n = elementBytes;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

/** Sorted by offset, the tensors must cover [0, dataLength) exactly once. */
function checkTiling(entries: readonly TensorEntry[], dataLength: number, path: string): void {
  let covered = 0;
  let previous: string | undefined;
  for (const e of entries) {
    if (e.begin !== covered) {
      const what =
        e.begin > covered ? `a gap of ${e.begin - covered} bytes` : `an overlap of ${covered - e.begin} bytes`;
      const after = previous === undefined ? 'the start of the data buffer' : `tensor '${previous}'`;
      throw new SafetensorsError(path, `data_offsets [${e.begin}, ${e.end}] leave ${what} after ${after}`, e.name);
    }
    covered = e.end;
    previous = e.name;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      path,
      `the tensors cover ${covered} bytes but the data buffer holds ${dataLength}; the file has trailing bytes or is truncated`,
    );
  }
}

/** A short, safe description of a JSON value for error messages. */
function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return 'an array';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
