// Lazy reading of a GGUF file (v2, v3): open() parses and checks the header, metadata and tensor
// infos; tensor bytes are read on demand from their file offset, so a multi-GB model is never read
// whole. The checks follow ggml's gguf.cpp (gguf_init_from_file_impl) and are stricter where it
// trusts the file: every count is checked against the bytes left before anything is allocated.
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { MissingFileError } from '../io/errors.js';
import { FileCursor, readFully } from './cursor.js';
import { GgufFormatError } from './errors.js';
import {
  GGUF_ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GGUF_SCALAR_BYTES,
  GGUF_VERSIONS,
  GgufValueType,
  alignUp,
  ggmlByteLength,
  ggmlTypeInfo,
  ggufValueTypeName,
  isValidAlignment,
  type GgmlTypeInfo,
} from './format.js';
import { GgufMetadata, describeValue, type GgufArrayItemTypeName, type GgufValue } from './metadata.js';

/** ggml's GGML_MAX_NAME: tensor names are shorter (they are stored NUL-terminated in 64 bytes). */
export const GGUF_MAX_TENSOR_NAME = 63;
/** Metadata keys are at most this long (the GGUF spec: keys fit in 2^16 - 1 bytes). */
const MAX_KEY = 65535;
/** The fewest bytes a KV (empty key, u32 type, 1-byte value) and a tensor info (0 dims) occupy. */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  /** Dimensions as GGUF stores them, innermost first (dims[0] is a row's length). */
  readonly dims: readonly number[];
  /** The same dimensions outermost first, as tensor shapes and HF checkpoints have them. */
  readonly shape: readonly number[];
  /** Offset in the data section, as the file states it. */
  readonly offset: number;
  /** Absolute position of the tensor's first byte in the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

export class GgufFile {
  private file: FileHandle | null;

  private constructor(
    readonly path: string,
    file: FileHandle,
    readonly version: number,
    readonly metadata: GgufMetadata,
    /** Tensor infos in file order. */
    readonly tensors: ReadonlyMap<string, GgufTensorInfo>,
    readonly alignment: number,
    /** Where the data section starts in the file. */
    readonly dataOffset: number,
  ) {
    this.file = file;
  }

  /** Opens `path` and checks its header; throws a GgufFormatError if the file is malformed. */
  static async open(path: string): Promise<GgufFile> {
    if (endianness() !== 'LE') throw new GgufFormatError(path, 'peftjs reads GGUF only on little-endian hosts');
    const file = await open(path, 'r').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingFileError([path]);
      throw new GgufFormatError(path, `cannot be opened: ${(error as Error).message}`);
    });
    try {
      const stats = await file.stat();
      if (!stats.isFile()) throw new GgufFormatError(path, 'is not a regular file');
      const cursor = new FileCursor(file, stats.size, path);
      const { version, metadata, infos } = await parseHeader(cursor);
      const alignment = readAlignment(metadata);
      const dataOffset = alignUp(cursor.position, alignment);
      const tensors = placeTensors(infos, alignment, dataOffset, stats.size, path);
      return new GgufFile(path, file, version, metadata, tensors, alignment, dataOffset);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** `general.architecture` ('llama', 'qwen2', 'gpt2', ...). */
  get architecture(): string | undefined {
    return this.metadata.string('general.architecture');
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The info of tensor `name`; a GgufFormatError naming some of the file's tensors when it is absent. */
  tensor(name: string): GgufTensorInfo {
    const info = this.tensors.get(name);
    if (info !== undefined) return info;
    const names = [...this.tensors.keys()];
    const some = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
    throw new GgufFormatError(this.path, `not in this file, which holds ${names.length} tensors (${some})`, name);
  }

  /** Reads tensor `name`'s bytes into `target` (exactly its byteLength), e.g. a tensor's own buffer. */
  async readInto(name: string, target: Uint8Array): Promise<void> {
    const info = this.tensor(name);
    if (target.length !== info.byteLength) {
      throw new GgufFormatError(this.path, `holds ${info.byteLength} bytes; the target has ${target.length}`, name);
    }
    const file = this.file;
    if (file === null) throw new GgufFormatError(this.path, 'the file was closed; open it again to read', name);
    await readFully(file, target, info.fileOffset, this.path);
  }

  /** Reads tensor `name`'s bytes into a new buffer. */
  async readBytes(name: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(this.tensor(name).byteLength);
    await this.readInto(name, bytes);
    return bytes;
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

interface ParsedInfo {
  name: string;
  type: GgmlTypeInfo;
  dims: number[];
  offset: number;
}

async function parseHeader(c: FileCursor): Promise<{ version: number; metadata: GgufMetadata; infos: ParsedInfo[] }> {
  await c.need(4 + 4, 'the magic and version');
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    throw new GgufFormatError(c.path, `does not start with the GGUF magic ("GGUF"); this is not a GGUF file`);
  }
  const version = c.u32();
  if (!GGUF_VERSIONS.includes(version)) throw new GgufFormatError(c.path, versionProblem(version));
  await c.need(8 + 8, 'the tensor and metadata counts');
  const tensorCount = c.u64();
  const kvCount = c.u64();
  // Each KV and tensor info takes some bytes: a count the rest of the file cannot hold is a lie.
  if (kvCount * BigInt(MIN_KV_BYTES) + tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) > BigInt(c.remaining)) {
    throw new GgufFormatError(
      c.path,
      `claims ${tensorCount} tensors and ${kvCount} metadata entries, more than its remaining ${c.remaining} bytes can hold; it is truncated or corrupt`,
    );
  }
  const entries = new Map<string, GgufValue>();
  for (let i = 0; i < Number(kvCount); i++) {
    const key = await readString(c, MAX_KEY, `metadata key ${i}`);
    if (entries.has(key)) throw new GgufFormatError(c.path, 'appears twice in the metadata', key);
    entries.set(key, await readValue(c, key));
  }
  const infos: ParsedInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < Number(tensorCount); i++) {
    const info = await readTensorInfo(c, i);
    if (names.has(info.name)) throw new GgufFormatError(c.path, 'appears twice in the tensor infos', info.name);
    names.add(info.name);
    infos.push(info);
  }
  return { version, metadata: new GgufMetadata(c.path, entries), infos };
}

function versionProblem(version: number): string {
  if (version === 1)
    return 'is GGUF version 1 (2023), which peftjs does not read; convert it again with a current llama.cpp';
  const swapped =
    ((version & 0xff) << 24) | (((version >>> 8) & 0xff) << 16) | (((version >>> 16) & 0xff) << 8) | (version >>> 24);
  if (GGUF_VERSIONS.includes(swapped)) {
    return `is a big-endian GGUF file (version ${swapped}); peftjs reads little-endian files only`;
  }
  return `has GGUF version ${version}; peftjs reads versions ${GGUF_VERSIONS.join(' and ')}`;
}

/** A u64 length and that many UTF-8 bytes; longer than `max` or the file is an error before reading. */
async function readString(c: FileCursor, max: number, what: string): Promise<string> {
  await c.need(8, `the length of ${what}`);
  const length = c.u64();
  if (length > BigInt(max)) {
    throw new GgufFormatError(c.path, `${what} at byte ${c.position - 8} claims ${length} bytes; the limit is ${max}`);
  }
  await c.need(Number(length), what);
  return c.utf8(Number(length));
}

async function readValue(c: FileCursor, key: string): Promise<GgufValue> {
  await c.need(4, `the type of '${key}'`);
  const type = c.u32();
  if (type === GgufValueType.ARRAY) return readArray(c, key);
  const name = scalarTypeName(c, type, key);
  if (name === 'STRING') return { type: name, value: await readString(c, c.remaining, `the value of '${key}'`) };
  await c.need(GGUF_SCALAR_BYTES[GgufValueType[name]]!, `the value of '${key}'`);
  return readScalar(c, name);
}

function scalarTypeName(c: FileCursor, type: number, key: string): GgufArrayItemTypeName {
  const name = ggufValueTypeName(type);
  if (name === undefined) {
    throw new GgufFormatError(c.path, `has value type ${type}, which GGUF does not define (0 to 12)`, key);
  }
  if (name === 'ARRAY') throw new GgufFormatError(c.path, 'is an array of arrays, which GGUF readers refuse', key);
  return name;
}

function readScalar(c: FileCursor, type: Exclude<GgufArrayItemTypeName, 'STRING'>): GgufValue {
  switch (type) {
    case 'UINT8':
      return { type, value: c.u8() };
    case 'INT8':
      return { type, value: c.i8() };
    case 'UINT16':
      return { type, value: c.u16() };
    case 'INT16':
      return { type, value: c.i16() };
    case 'UINT32':
      return { type, value: c.u32() };
    case 'INT32':
      return { type, value: c.i32() };
    case 'FLOAT32':
      return { type, value: c.f32() };
    case 'FLOAT64':
      return { type, value: c.f64() };
    case 'BOOL':
      return { type, value: c.u8() !== 0 };
    case 'UINT64':
      return { type, value: c.u64() };
    case 'INT64':
      return { type, value: c.i64() };
  }
}

/** Typed-array views for numeric array items, over a copied (so aligned) buffer. */
const ARRAY_VIEWS = {
  UINT8: (b: ArrayBuffer) => new Uint8Array(b),
  INT8: (b: ArrayBuffer) => new Int8Array(b),
  UINT16: (b: ArrayBuffer) => new Uint16Array(b),
  INT16: (b: ArrayBuffer) => new Int16Array(b),
  UINT32: (b: ArrayBuffer) => new Uint32Array(b),
  INT32: (b: ArrayBuffer) => new Int32Array(b),
  FLOAT32: (b: ArrayBuffer) => new Float32Array(b),
  FLOAT64: (b: ArrayBuffer) => new Float64Array(b),
  UINT64: (b: ArrayBuffer) => new BigUint64Array(b),
  INT64: (b: ArrayBuffer) => new BigInt64Array(b),
} as const;

async function readArray(c: FileCursor, key: string): Promise<GgufValue> {
  await c.need(4 + 8, `the item type and length of '${key}'`);
  const itemType = scalarTypeName(c, c.u32(), key);
  const length = c.u64();
  // Strings take at least their 8-byte length each.
  const itemBytes = itemType === 'STRING' ? 8 : GGUF_SCALAR_BYTES[GgufValueType[itemType]]!;
  if (length * BigInt(itemBytes) > BigInt(c.remaining)) {
    throw new GgufFormatError(
      c.path,
      `claims ${length} ${itemType} items (at least ${itemBytes} bytes each) but only ${c.remaining} bytes remain`,
      key,
    );
  }
  const n = Number(length);
  if (itemType === 'STRING') {
    const value: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) value[i] = await readString(c, c.remaining, `item ${i} of '${key}'`);
    return { type: 'ARRAY', itemType, value };
  }
  await c.need(n * itemBytes, `the items of '${key}'`);
  const bytes = c.copy(n * itemBytes);
  if (itemType === 'BOOL') return { type: 'ARRAY', itemType, value: Array.from(bytes, (b) => b !== 0) };
  const value = ARRAY_VIEWS[itemType](bytes.buffer as ArrayBuffer);
  return { type: 'ARRAY', itemType, value } as GgufValue;
}

async function readTensorInfo(c: FileCursor, index: number): Promise<ParsedInfo> {
  const name = await readString(c, GGUF_MAX_TENSOR_NAME, `the name of tensor ${index}`);
  await c.need(4, `the dimension count of '${name}'`);
  const nDims = c.u32();
  if (nDims > GGUF_MAX_DIMS) {
    throw new GgufFormatError(c.path, `has ${nDims} dimensions; ggml tensors have at most ${GGUF_MAX_DIMS}`, name);
  }
  await c.need(8 * nDims + 4 + 8, `the dimensions, type and offset of '${name}'`);
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) dims.push(safeNumber(c, c.u64(), `dimension ${d}`, name));
  const typeId = c.u32();
  const type = ggmlTypeInfo(typeId);
  if (type === undefined) {
    throw new GgufFormatError(
      c.path,
      `has ggml type id ${typeId}, which is unknown or retired (ggml's types are 0-3, 6-30, 34, 35, 39-41)`,
      name,
    );
  }
  const offset = safeNumber(c, c.u64(), 'offset', name);
  return { name, type, dims, offset };
}

function safeNumber(c: FileCursor, value: bigint, what: string, name: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GgufFormatError(c.path, `${what} ${value} is past 2^53; the file is corrupt`, name);
  }
  return Number(value);
}

function readAlignment(metadata: GgufMetadata): number {
  const value = metadata.get(GGUF_ALIGNMENT_KEY);
  if (value === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (value.type !== 'UINT32' || !isValidAlignment(value.value)) {
    throw new GgufFormatError(
      metadata.path,
      `must be a UINT32 power of two; it is ${describeValue(value)}`,
      GGUF_ALIGNMENT_KEY,
    );
  }
  return value.value;
}

/** Sizes each tensor and checks it is aligned, inside the file, and overlaps no other. */
function placeTensors(
  infos: readonly ParsedInfo[],
  alignment: number,
  dataOffset: number,
  fileSize: number,
  path: string,
): Map<string, GgufTensorInfo> {
  const placed = infos.map((info): GgufTensorInfo => {
    const fail = (why: string): never => {
      throw new GgufFormatError(path, why, info.name);
    };
    const byteLength = ggmlByteLength(info.type, info.dims, fail);
    if (info.offset % alignment !== 0) fail(`offset ${info.offset} is not a multiple of the alignment ${alignment}`);
    const fileOffset = dataOffset + info.offset;
    if (fileOffset + byteLength > fileSize) {
      fail(
        `its ${byteLength} bytes at data offset ${info.offset} run past the end of the ${fileSize}-byte file (data starts at ${dataOffset}); the file is truncated`,
      );
    }
    return { ...info, shape: [...info.dims].reverse(), fileOffset, byteLength };
  });
  const byOffset = [...placed].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [before, after] = [byOffset[i - 1]!, byOffset[i]!];
    if (before.offset + before.byteLength > after.offset) {
      throw new GgufFormatError(
        path,
        `its data at offset ${after.offset} overlaps '${before.name}' (offset ${before.offset}, ${before.byteLength} bytes)`,
        after.name,
      );
    }
  }
  return new Map(placed.map((t) => [t.name, t]));
}
