// Writing a GGUF v3 file (ggml's gguf.cpp layout, see format.ts): header, metadata, tensor infos,
// padding to the alignment, then each tensor's bytes at an aligned offset. Tensors are produced one
// at a time by their `data()` callback and written straight out, so a large model is never held
// twice; the file appears atomically (src/io/atomic.ts) or not at all.
import { writeAtomic, writeAll } from '../io/atomic.js';
import { GgufFormatError } from './errors.js';
import {
  alignUp,
  GGUF_ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GGUF_WRITE_VERSION,
  GgmlType,
  ggmlByteLength,
  ggmlType,
  GgufValueType,
  isValidAlignment,
  type GgmlTypeName,
  type GgufValueTypeName,
} from './format.js';
import { describeValue, gguf, type GgufValue } from './metadata.js';
import { GGUF_MAX_TENSOR_NAME } from './reader.js';

/** One tensor to write: its values come from `data()` when its turn comes. */
export interface GgufTensorToWrite {
  name: string;
  type: GgmlTypeName;
  /** Row-major shape, outermost first (HF's [out, in]); the file stores it reversed (ggml's ne). */
  shape: readonly number[];
  /** The tensor's bytes in `type`: exactly its size. */
  data: () => Uint8Array | Promise<Uint8Array>;
}

/** Little-endian bytes, grown as needed. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  /**
   * Reserves n bytes and returns where they start. It may replace `this.buffer`, so callers call it
   * before reading `this.buffer` (in `this.buffer.write(v, this.room(n))` the old buffer is read first).
   */
  private room(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): void {
    const at = this.room(1);
    this.buffer.writeUInt8(v, at);
  }
  i8(v: number): void {
    const at = this.room(1);
    this.buffer.writeInt8(v, at);
  }
  u16(v: number): void {
    const at = this.room(2);
    this.buffer.writeUInt16LE(v, at);
  }
  i16(v: number): void {
    const at = this.room(2);
    this.buffer.writeInt16LE(v, at);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.buffer.writeUInt32LE(v, at);
  }
  i32(v: number): void {
    const at = this.room(4);
    this.buffer.writeInt32LE(v, at);
  }
  f32(v: number): void {
    const at = this.room(4);
    this.buffer.writeFloatLE(v, at);
  }
  f64(v: number): void {
    const at = this.room(8);
    this.buffer.writeDoubleLE(v, at);
  }
  u64(v: bigint | number): void {
    const at = this.room(8);
    this.buffer.writeBigUInt64LE(BigInt(v), at);
  }
  i64(v: bigint | number): void {
    const at = this.room(8);
    this.buffer.writeBigInt64LE(BigInt(v), at);
  }

  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    const at = this.room(bytes.length);
    bytes.copy(this.buffer, at);
  }

  pad(alignment: number): void {
    this.room(alignUp(this.length, alignment) - this.length);
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeScalar(sink: ByteSink, type: Exclude<GgufValueTypeName, 'ARRAY'>, value: unknown): void {
  switch (type) {
    case 'UINT8':
      return sink.u8(value as number);
    case 'INT8':
      return sink.i8(value as number);
    case 'UINT16':
      return sink.u16(value as number);
    case 'INT16':
      return sink.i16(value as number);
    case 'UINT32':
      return sink.u32(value as number);
    case 'INT32':
      return sink.i32(value as number);
    case 'FLOAT32':
      return sink.f32(value as number);
    case 'FLOAT64':
      return sink.f64(value as number);
    case 'UINT64':
      return sink.u64(value as bigint);
    case 'INT64':
      return sink.i64(value as bigint);
    case 'BOOL':
      return sink.u8(value ? 1 : 0);
    case 'STRING':
      return sink.string(value as string);
  }
}

// [min, max] of each integer type: a value outside is refused, never wrapped.
const RANGES: Partial<Record<GgufValueTypeName, [number | bigint, number | bigint]>> = {
  UINT8: [0, 0xff],
  INT8: [-0x80, 0x7f],
  UINT16: [0, 0xffff],
  INT16: [-0x8000, 0x7fff],
  UINT32: [0, 0xffffffff],
  INT32: [-0x80000000, 0x7fffffff],
  UINT64: [0n, 2n ** 64n - 1n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
};
const JS_TYPES: Record<Exclude<GgufValueTypeName, 'ARRAY'>, string> = {
  UINT8: 'number',
  INT8: 'number',
  UINT16: 'number',
  INT16: 'number',
  UINT32: 'number',
  INT32: 'number',
  FLOAT32: 'number',
  FLOAT64: 'number',
  UINT64: 'bigint',
  INT64: 'bigint',
  BOOL: 'boolean',
  STRING: 'string',
};

/** Whether `value` is representable as `type` (the right JS type; integers in range). */
function fits(type: Exclude<GgufValueTypeName, 'ARRAY'>, value: unknown): boolean {
  if (typeof value !== JS_TYPES[type]) return false;
  const range = RANGES[type];
  if (range === undefined) return true;
  if (typeof value === 'number' && !Number.isInteger(value)) return false;
  return (value as number | bigint) >= range[0] && (value as number | bigint) <= range[1];
}

function writeValue(sink: ByteSink, v: GgufValue, fail: (why: string) => never): void {
  sink.u32(GgufValueType[v.type]);
  if (v.type !== 'ARRAY') {
    if (!fits(v.type, v.value)) fail(`${describeValue(v)} is not a ${v.type} value`);
    return writeScalar(sink, v.type, v.value);
  }
  sink.u32(GgufValueType[v.itemType]);
  sink.u64(v.value.length);
  for (let i = 0; i < v.value.length; i++) {
    if (!fits(v.itemType, v.value[i])) fail(`item ${i} (${String(v.value[i])}) is not a ${v.itemType} value`);
    writeScalar(sink, v.itemType, v.value[i]);
  }
}

/** The metadata with general.alignment added where the alignment is not the default; checks they agree. */
function withAlignment(
  metadata: ReadonlyMap<string, GgufValue>,
  alignment: number,
  fail: (why: string) => never,
): ReadonlyMap<string, GgufValue> {
  if (!isValidAlignment(alignment)) fail(`alignment ${alignment} must be a power of two (GGUF's default is 32)`);
  const stated = metadata.get(GGUF_ALIGNMENT_KEY);
  if (stated !== undefined && !(stated.type === 'UINT32' && stated.value === alignment)) {
    fail(
      `${GGUF_ALIGNMENT_KEY} is ${describeValue(stated)} but the writer aligns to ${alignment}; pass only the alignment`,
    );
  }
  if (stated !== undefined || alignment === GGUF_DEFAULT_ALIGNMENT) return metadata;
  return new Map([...metadata, [GGUF_ALIGNMENT_KEY, gguf.u32(alignment)]]);
}

/**
 * Writes `path` as a GGUF v3 file holding `metadata` (in its order) and `tensors` (in theirs).
 * Checks names, shapes and sizes first: a bad tensor is refused before anything is written.
 */
export async function writeGguf(
  path: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorToWrite[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): Promise<void> {
  const fail =
    (subject: string) =>
    (why: string): never => {
      throw new GgufFormatError(path, why, subject);
    };
  const entries = withAlignment(metadata, alignment, (why) => {
    throw new GgufFormatError(path, why);
  });
  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_WRITE_VERSION);
  head.u64(tensors.length);
  head.u64(entries.size);
  for (const [key, value] of entries) {
    head.string(key);
    writeValue(head, value, fail(key));
  }
  const sizes: number[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) fail(t.name)('appears twice');
    names.add(t.name);
    const nameBytes = Buffer.byteLength(t.name, 'utf8');
    if (nameBytes > GGUF_MAX_TENSOR_NAME)
      fail(t.name)(`is ${nameBytes} bytes long; ggml's limit is ${GGUF_MAX_TENSOR_NAME}`);
    if (t.shape.length === 0 || t.shape.length > GGUF_MAX_DIMS)
      fail(t.name)(`has ${t.shape.length} dimensions; GGUF holds 1 to ${GGUF_MAX_DIMS}`);
    const dims = [...t.shape].reverse();
    const size = ggmlByteLength(ggmlType(t.type), dims, fail(t.name));
    head.string(t.name);
    head.u32(dims.length);
    for (const d of dims) head.u64(d);
    head.u32(GgmlType[t.type]);
    head.u64(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  head.pad(alignment);
  await writeAtomic(path, async (file) => {
    await writeAll(file, head.bytes());
    const padding = Buffer.alloc(alignment);
    for (const [i, t] of tensors.entries()) {
      const data = await t.data();
      if (data.length !== sizes[i])
        fail(t.name)(`data() gave ${data.length} bytes; [${t.shape.join(', ')}] in ${t.type} is ${sizes[i]}`);
      await writeAll(file, data);
      await writeAll(file, padding.subarray(0, alignUp(data.length, alignment) - data.length));
    }
  });
}
