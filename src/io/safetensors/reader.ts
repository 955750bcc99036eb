// Lazy reading of one safetensors file: open() reads and validates only the header; get() reads one
// tensor's bytes straight into a new tensor, so a checkpoint never needs twice its size in memory.
import { cloneTensor } from '../../tensor/ops/create-ops.js';
import { Tensor } from '../../tensor/tensor.js';
import { MissingFileError, SafetensorsError } from '../errors.js';
import { FORMAT_DTYPES, assertLittleEndianHost, type SafetensorsDType } from './dtypes.js';
import { checkHeaderLength, parseHeader, type Header, type TensorEntry } from './header.js';
import type { ReadTensorOptions, TensorInfo, TensorSource } from './types.js';
import { fileAt } from '../files/default.js';
import type { FileSource, ReadableFile } from '../files/types.js';

/** Views of raw file bytes for the dtypes that load widened to int32. */
const NARROW_INTS: Partial<Record<SafetensorsDType, (bytes: ArrayBuffer) => Int8Array | Int16Array | Uint16Array>> = {
  I8: (b) => new Int8Array(b),
  I16: (b) => new Int16Array(b),
  U16: (b) => new Uint16Array(b),
};

export class SafetensorsFile implements TensorSource {
  private file: ReadableFile | null;

  private constructor(
    /** How messages name the file (its path or URL). */
    readonly path: string,
    file: ReadableFile,
    private readonly header: Header,
    /** Where the data buffer starts in the file. */
    private readonly dataStart: number,
  ) {
    this.file = file;
  }

  /**
   * Opens the file at `path` (a path in Node, a URL in the browser build), or the file `name` of
   * `source`, and validates its header; throws a SafetensorsError if the file is malformed.
   */
  static async open(path: string): Promise<SafetensorsFile>;
  static async open(source: FileSource, name: string): Promise<SafetensorsFile>;
  static async open(where: string | FileSource, name?: string): Promise<SafetensorsFile> {
    const { source, name: fileName } = typeof where === 'string' ? fileAt(where) : { source: where, name: name! };
    const path = source.describe(fileName);
    assertLittleEndianHost(path);
    const file = await source.open(fileName).catch((error: unknown) => {
      throw ioError(error, path);
    });
    try {
      if (file.size < 8) {
        throw new SafetensorsError(path, `the file has ${file.size} bytes, too few for the 8-byte header length`);
      }
      const prefix = new Uint8Array(8);
      await readExactly(file, prefix, 0, path);
      const length = checkHeaderLength(new DataView(prefix.buffer).getBigUint64(0, true), file.size, path);
      const headerBytes = new Uint8Array(length);
      await readExactly(file, headerBytes, 8, path);
      const header = parseHeader(headerBytes, file.size - 8 - length, path);
      return new SafetensorsFile(path, file, header, 8 + length);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** The "__metadata__" string map; undefined when the file has none. */
  get metadata(): Readonly<Record<string, string>> | undefined {
    return this.header.metadata;
  }

  keys(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.entry(name);
    return { dtype: FORMAT_DTYPES[e.dtype].loadsAs, fileDtype: e.dtype, shape: e.shape, byteLength: e.end - e.begin };
  }

  async get(name: string, options: ReadTensorOptions = {}): Promise<Tensor> {
    const e = this.entry(name);
    const file = this.file;
    if (file === null) throw new SafetensorsError(this.path, 'the file was closed; open it again to read', name);
    const tensor = Tensor.empty(e.shape, FORMAT_DTYPES[e.dtype].loadsAs);
    try {
      const widen = NARROW_INTS[e.dtype];
      const position = this.dataStart + e.begin;
      if (widen === undefined) {
        const target = tensor.buffer;
        await readExactly(file, new Uint8Array(target.buffer, target.byteOffset, e.end - e.begin), position, this.path);
      } else {
        const raw = new Uint8Array(e.end - e.begin);
        await readExactly(file, raw, position, this.path);
        (tensor.buffer as Int32Array).set(widen(raw.buffer));
      }
    } catch (error) {
      tensor.dispose();
      throw error;
    }
    if (options.dtype === undefined || options.dtype === tensor.dtype) return tensor;
    const converted = cloneTensor(tensor, options.dtype);
    tensor.dispose();
    return converted;
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private entry(name: string): TensorEntry {
    const e = this.header.tensors.get(name);
    if (e !== undefined) return e;
    const names = this.keys();
    const some = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
    throw new SafetensorsError(
      this.path,
      `not in this file, which holds ${names.length} tensors${names.length ? ` (${some})` : ''}`,
      name,
    );
  }
}

/** Reads a whole file (at `path`, or `name` of `source`): every tensor, and the metadata. */
export async function loadSafetensors(
  where: string | FileSource,
  name?: string,
): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> | undefined }> {
  const file = typeof where === 'string' ? await SafetensorsFile.open(where) : await SafetensorsFile.open(where, name!);
  const tensors = new Map<string, Tensor>();
  try {
    for (const name of file.keys()) tensors.set(name, await file.get(name));
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  } finally {
    await file.close();
  }
  return { tensors, metadata: file.metadata && { ...file.metadata } };
}

/** Fills `target` from `position`; a file shorter than its header promised is an error. */
async function readExactly(file: ReadableFile, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const bytesRead = await file.read(target.subarray(done), position + done).catch((error: unknown) => {
      throw ioError(error, path);
    });
    if (bytesRead === 0) {
      throw new SafetensorsError(
        path,
        `the file ends at byte ${position + done}, before the data its header describes; was it changed while open?`,
      );
    }
    done += bytesRead;
  }
}

function ioError(error: unknown, path: string): Error {
  if (error instanceof MissingFileError || error instanceof SafetensorsError) return error;
  return new SafetensorsError(path, `cannot be read: ${(error as Error).message}`);
}
