// Where model, tokenizer and adapter files come from. The loaders read through this interface only,
// so the same loader reads a local folder (Node), a URL, files picked in a page or the origin-private
// file system. Names are '/'-separated paths relative to the source's folder.

/** A file opened for reading at any position. */
export interface ReadableFile {
  /** Its size in bytes. */
  readonly size: number;
  /**
   * Reads up to `target.length` bytes starting at `position` into `target`; returns how many it
   * read (fewer is fine: callers loop; 0 means the file ended).
   */
  read(target: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

/** A folder of files, wherever it lives. */
export interface FileSource {
  /** How messages name `name` (a path or URL); '' names the folder itself. */
  describe(name?: string): string;
  /** Whether the folder itself exists (a source that cannot tell says true; reads then report what is missing). */
  exists(): Promise<boolean>;
  /** Whether `name` is a file of this source. */
  isFile(name: string): Promise<boolean>;
  /** The text (UTF-8) of `name`; null when there is no such file. Other failures throw. */
  readText(name: string): Promise<string | null>;
  /** Opens `name`; a MissingFileError when there is no such file, other failures throw as they come. */
  open(name: string): Promise<ReadableFile>;
  /** The names of the files directly inside the sub-folder `folder`; empty when it is absent or cannot be listed. */
  list(folder: string): Promise<string[]>;
  /** The sub-folder `folder` as a source of its own. */
  folder(folder: string): FileSource;
}

/** A folder files are written into, wherever it lives. */
export interface FileSink {
  /** How messages name `name` (a path); '' names the folder itself. */
  describe(name?: string): string;
  /**
   * Writes the file `name` from `chunks` in order, whole: a reader sees the old file or the whole
   * new one (atomically on a disk), never half of it.
   */
  write(name: string, chunks: readonly Uint8Array[]): Promise<void>;
  /** The sub-folder `folder` as a sink of its own. */
  folder(folder: string): FileSink;
}

/** `a/b` from a folder and a name, either possibly empty. */
export function joinName(folder: string, name: string): string {
  if (folder === '') return name;
  if (name === '') return folder;
  return `${folder.replace(/\/+$/, '')}/${name}`;
}

/** Whether `value` is a FileSource (rather than a path string). */
export function isFileSource(value: unknown): value is FileSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FileSource).open === 'function' &&
    typeof (value as FileSource).readText === 'function'
  );
}
