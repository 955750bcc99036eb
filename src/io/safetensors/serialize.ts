// Serialising safetensors files byte for byte as Python's `safetensors` (the Rust writer underneath)
// does: tensors laid out by descending dtype rank and then by name (UTF-8 byte order), the header
// listing "__metadata__" first and then the tensors in layout order, padded with spaces to a
// multiple of 8 bytes. Python's metadata is a hash map with no defined order; ours keeps the
// caller's key order. No I/O here: writer.ts writes the pieces to a file, a FileSink anywhere.
import type { TypedArray } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { SafetensorsError } from '../errors.js';
import { FORMAT_DTYPES, SAVE_DTYPES, assertLittleEndianHost, type SafetensorsDType } from './dtypes.js';
import { METADATA_KEY } from './header.js';

/** Matches a UTF-16 surrogate that is not part of a pair: it has no UTF-8 encoding. */
const LONE_SURROGATE = /\p{Cs}/u;

export type NamedTensors = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

interface Planned {
  name: string;
  tensor: Tensor;
  dtype: SafetensorsDType;
  key: Uint8Array;
}

const UTF8 = new TextEncoder();

/**
 * The file's bytes in order: the header, then each tensor's elements (views of contiguous tensors'
 * memory, not copies). `path` names the file in errors. Views and strided tensors are fine.
 */
export function safetensorsChunks(
  path: string,
  tensors: NamedTensors,
  metadata?: Readonly<Record<string, string>>,
  { int8 }: SaveOptions = {},
): Uint8Array[] {
  assertLittleEndianHost(path);
  const layout = planLayout(tensors, path, int8);
  return [headerPrefix(layout, metadata, path), ...layout.map(({ tensor }) => tensorBytes(tensor))];
}

export interface SaveOptions {
  /** Names of uint8 tensors whose bytes are int8 values (no tensor dtype holds int8): written as I8. */
  int8?: ReadonlySet<string>;
}

function planLayout(tensors: NamedTensors, path: string, int8?: ReadonlySet<string>): Planned[] {
  const entries: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const layout = entries.map(([name, tensor]): Planned => {
    if (name === METADATA_KEY) {
      throw new SafetensorsError(path, `'${METADATA_KEY}' is reserved for the metadata and cannot name a tensor`, name);
    }
    if (LONE_SURROGATE.test(name)) {
      throw new SafetensorsError(
        path,
        'is not well-formed Unicode (it has a lone surrogate), which no other reader accepts',
        name,
      );
    }
    if (tensor.disposed) throw new SafetensorsError(path, 'was disposed before it could be saved', name);
    if (int8?.has(name) && tensor.dtype !== 'uint8') {
      throw new SafetensorsError(path, `is ${tensor.dtype}; only uint8 bytes can be written as int8`, name);
    }
    return { name, tensor, dtype: int8?.has(name) ? 'I8' : SAVE_DTYPES[tensor.dtype], key: UTF8.encode(name) };
  });
  return layout.sort(
    (a, b) => FORMAT_DTYPES[b.dtype].rank - FORMAT_DTYPES[a.dtype].rank || compareBytes(a.key, b.key),
  );
}

/** The 8-byte header length followed by the padded JSON header. */
function headerPrefix(
  layout: readonly Planned[],
  metadata: Readonly<Record<string, string>> | undefined,
  path: string,
): Uint8Array {
  const fields: string[] = [];
  if (metadata !== undefined) {
    const pairs = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') {
        throw new SafetensorsError(path, `metadata values must be strings; ${JSON.stringify(k)} is a ${typeof v}`);
      }
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
        throw new SafetensorsError(
          path,
          `metadata ${JSON.stringify(k)} is not well-formed Unicode (it has a lone surrogate)`,
        );
      }
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    fields.push(`"${METADATA_KEY}":{${pairs.join(',')}}`);
  }
  let offset = 0;
  for (const { name, tensor, dtype } of layout) {
    const end = offset + tensor.size * FORMAT_DTYPES[dtype].bytes;
    fields.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = UTF8.encode(`{${fields.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + padded).fill(0x20);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  return prefix;
}

/** Byte order of two UTF-8 strings (Buffer.compare's order). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The tensor's elements in row-major order, without a copy where it is already contiguous. */
export function tensorBytes(t: Tensor): Uint8Array {
  const data: TypedArray = t.isContiguous() ? (t.buffer.subarray(t.offset, t.offset + t.size) as TypedArray) : t.data();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
