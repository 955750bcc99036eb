// Files already in memory (or on disk behind a Blob): a FileSource over a map of names to Blobs
// or byte arrays (a server that has read a file once to hash it loads from the same bytes).
// A folder picked in a page (<input webkitdirectory>, whose File objects carry webkitRelativePath)
// and the files a URL or the origin-private file system handed over all read through this.
import { MissingFileError } from '../errors.js';
import { joinName, type FileSink, type FileSource, type ReadableFile } from './types.js';

/** Bytes copied out of a Blob per read: large tensors are read in pieces, not as one big copy. */
const BLOB_READ = 64 << 20;

/** A Blob opened for reading by position. */
export function blobFile(blob: Blob): ReadableFile {
  return {
    size: blob.size,
    async read(target, position) {
      const end = Math.min(blob.size, position + Math.min(target.length, BLOB_READ));
      if (end <= position) return 0;
      const bytes = new Uint8Array(await blob.slice(position, end).arrayBuffer());
      target.set(bytes);
      return bytes.length;
    },
    close: async () => {},
  };
}

/** Bytes in memory opened for reading by position (no copy but the one into each read's target). */
export function bytesFile(bytes: Uint8Array): ReadableFile {
  return {
    size: bytes.length,
    async read(target, position) {
      const part = bytes.subarray(Math.min(position, bytes.length), Math.min(bytes.length, position + target.length));
      target.set(part);
      return part.length;
    },
    close: async () => {},
  };
}

export class BlobSource implements FileSource {
  /** `files` by '/'-separated name relative to the folder; `label` names the folder in messages. */
  constructor(
    private readonly files: ReadonlyMap<string, Blob | Uint8Array>,
    private readonly label = 'files',
  ) {}

  /**
   * The files of a folder picked with `<input type="file" webkitdirectory>`: each File's
   * webkitRelativePath starts with the folder's name, which is dropped (so `gpt2/config.json` is
   * `config.json`). Files without a relative path (dropped or picked one by one) keep their own name.
   */
  static fromFiles(files: Iterable<File>): BlobSource {
    const map = new Map<string, Blob>();
    let label = 'picked files';
    for (const file of files) {
      const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
      const slash = relative.indexOf('/');
      if (slash > 0) label = relative.slice(0, slash);
      map.set(slash > 0 ? relative.slice(slash + 1) : file.name, file);
    }
    return new BlobSource(map, label);
  }

  describe(name = ''): string {
    return joinName(this.label, name);
  }

  async exists(): Promise<boolean> {
    return this.files.size > 0;
  }

  async isFile(name: string): Promise<boolean> {
    return this.files.has(name);
  }

  async readText(name: string): Promise<string | null> {
    const blob = this.files.get(name);
    if (blob === undefined) return null;
    return blob instanceof Uint8Array ? new TextDecoder().decode(blob) : blob.text();
  }

  async open(name: string): Promise<ReadableFile> {
    const blob = this.files.get(name);
    if (blob === undefined) throw new MissingFileError([this.describe(name)]);
    return blob instanceof Uint8Array ? bytesFile(blob) : blobFile(blob);
  }

  async list(folder: string): Promise<string[]> {
    const prefix = folder === '' ? '' : `${folder.replace(/\/+$/, '')}/`;
    return [...this.files.keys()]
      .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length));
  }

  folder(folder: string): FileSource {
    const prefix = `${folder.replace(/\/+$/, '')}/`;
    const inner = new Map(
      [...this.files].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]),
    );
    return new BlobSource(inner, this.describe(folder));
  }
}

/**
 * Files written into memory, as Blobs by '/'-separated name: what a page saves (an adapter's
 * adapter_config.json and adapter_model.safetensors) to offer as downloads or store elsewhere.
 */
export class BlobSink implements FileSink {
  constructor(
    /** The written files, by name relative to the outermost sink. */
    readonly files: Map<string, Blob> = new Map(),
    private readonly prefix = '',
  ) {}

  describe(name = ''): string {
    return joinName(this.prefix, name);
  }

  async write(name: string, chunks: readonly Uint8Array[]): Promise<void> {
    // A Blob cannot be made from views of shared memory (a threaded WebAssembly heap): copy those.
    const parts = chunks.map((c) => (c.buffer instanceof ArrayBuffer ? c : c.slice()));
    this.files.set(this.describe(name), new Blob(parts as Uint8Array<ArrayBuffer>[]));
  }

  folder(folder: string): FileSink {
    return new BlobSink(this.files, this.describe(folder));
  }

  /** The written files as a source, to read back what was saved. */
  source(): BlobSource {
    return new BlobSource(this.files, 'saved files');
  }
}
