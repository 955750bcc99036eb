// A local folder as a FileSource and a FileSink (Node).
import { mkdir, open, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeChunksAtomic } from '../atomic.js';
import { MissingFileError } from '../errors.js';
import type { FileSink, FileSource, ReadableFile } from './types.js';
import { MAX_READ } from './max-read.js';

export class FolderSource implements FileSource {
  constructor(readonly root: string) {}

  describe(name = ''): string {
    return name === '' ? this.root : join(this.root, name);
  }

  exists(): Promise<boolean> {
    return stat(this.root).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  isFile(name: string): Promise<boolean> {
    return stat(this.describe(name)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async readText(name: string): Promise<string | null> {
    try {
      return await readFile(this.describe(name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async open(name: string): Promise<ReadableFile> {
    const path = this.describe(name);
    const handle = await open(path, 'r').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingFileError([path]);
      throw error;
    });
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new Error('it is not a regular file');
      return {
        size: stats.size,
        read: async (target, position) =>
          (await handle.read(target, 0, Math.min(target.length, MAX_READ), position)).bytesRead,
        close: () => handle.close(),
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  list(folder: string): Promise<string[]> {
    return readdir(this.describe(folder)).catch(() => []);
  }

  folder(folder: string): FileSource {
    return new FolderSource(this.describe(folder));
  }
}

/** A local folder files are written into, each atomically (created on the first write). */
export class FolderSink implements FileSink {
  constructor(readonly root: string) {}

  describe(name = ''): string {
    return name === '' ? this.root : join(this.root, name);
  }

  async write(name: string, chunks: readonly Uint8Array[]): Promise<void> {
    const path = this.describe(name);
    await mkdir(dirname(path), { recursive: true });
    await writeChunksAtomic(path, chunks);
  }

  folder(folder: string): FileSink {
    return new FolderSink(this.describe(folder));
  }
}
