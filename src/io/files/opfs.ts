// The origin-private file system (navigator.storage.getDirectory()) as a FileSource: a page can
// copy a model there once and load it from disk on every visit without fetching it again.
import { MissingFileError } from '../errors.js';
import { blobFile } from './blobs.js';
import { joinName, type FileSource, type ReadableFile } from './types.js';

/** The part of FileSystemDirectoryHandle read here (declared so that no DOM types are needed). */
export interface DirectoryHandle {
  getDirectoryHandle(name: string): Promise<DirectoryHandle>;
  getFileHandle(name: string): Promise<{ getFile(): Promise<Blob> }>;
  keys(): AsyncIterable<string>;
}

export class OpfsSource implements FileSource {
  /** `root`: a directory handle (e.g. `await navigator.storage.getDirectory()` or a folder inside it). */
  constructor(
    private readonly root: DirectoryHandle,
    private readonly label = 'opfs:',
    private readonly path = '',
  ) {}

  describe(name = ''): string {
    return this.label + joinName(this.path, name);
  }

  async exists(): Promise<boolean> {
    return (await this.directory(this.path)) !== null;
  }

  async isFile(name: string): Promise<boolean> {
    return (await this.file(name)) !== null;
  }

  async readText(name: string): Promise<string | null> {
    const file = await this.file(name);
    return file === null ? null : file.text();
  }

  async open(name: string): Promise<ReadableFile> {
    const file = await this.file(name);
    if (file === null) throw new MissingFileError([this.describe(name)]);
    return blobFile(file);
  }

  async list(folder: string): Promise<string[]> {
    const dir = await this.directory(joinName(this.path, folder));
    const names: string[] = [];
    if (dir !== null) for await (const name of dir.keys()) names.push(name);
    return names;
  }

  folder(folder: string): FileSource {
    return new OpfsSource(this.root, this.label, joinName(this.path, folder));
  }

  private async directory(path: string): Promise<DirectoryHandle | null> {
    let dir = this.root;
    for (const part of path.split('/').filter((p) => p !== '')) {
      const next = await dir.getDirectoryHandle(part).catch(() => null);
      if (next === null) return null;
      dir = next;
    }
    return dir;
  }

  private async file(name: string): Promise<Blob | null> {
    const full = joinName(this.path, name);
    const slash = full.lastIndexOf('/');
    const dir = await this.directory(slash < 0 ? '' : full.slice(0, slash));
    if (dir === null) return null;
    const handle = await dir.getFileHandle(full.slice(slash + 1)).catch(() => null);
    return handle === null ? null : handle.getFile();
  }
}
