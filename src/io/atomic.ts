// Atomic file writes: the contents go to a temporary file in the target's folder, are flushed to
// disk, and the temporary file is renamed over the target. A reader sees the old file or the whole
// new one, never half of it; on failure the temporary file is removed. Folders likewise: filled
// under a temporary name beside the target, then renamed to it.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Largest single write (Node rejects lengths of 2 GiB and more). */
const MAX_WRITE = 1 << 30;

/** A fresh temporary name beside `path`: .<name>.<pid>.<random>.tmp (the pid tells whose it is). */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes `path` atomically; `write` fills the temporary file through `file`. */
export async function writeAtomic(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  await fillThenPublish(path, write, (temp) => rename(temp, path));
}

/** Fills a temporary file beside `path`, flushes it, then `publish`es it; the temporary file never outlives the call. */
async function fillThenPublish<T>(
  path: string,
  write: (file: FileHandle) => Promise<void>,
  publish: (temp: string) => Promise<T>,
): Promise<T> {
  const temp = temporaryPath(path);
  const file = await open(temp, 'wx');
  let published: T;
  try {
    try {
      await write(file);
      await file.sync();
    } finally {
      await file.close();
    }
    published = await publish(temp);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncFolder(dirname(path));
  return published;
}

/**
 * Creates `path` holding `data`, atomically and only if it does not exist yet. The contents go to a
 * temporary file that is then hard-linked to `path`: link(2) fails with EEXIST when `path` exists,
 * so of several writers racing, exactly one creates it, and no reader sees it half-written (O_EXCL
 * on `path` itself would give the first writer but show its file while still empty). Returns true
 * when this call created it, false when it was there already (left untouched).
 */
export async function createFileOnce(path: string, data: string | Uint8Array): Promise<boolean> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return fillThenPublish(
    path,
    (file) => writeAll(file, bytes),
    async (temp) => {
      try {
        await link(temp, path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        return false;
      } finally {
        await rm(temp, { force: true });
      }
    },
  );
}

/**
 * Creates the folder `path` atomically: `fill` writes its files into an empty temporary folder,
 * which is then renamed to `path`. Fails (ENOTEMPTY / EEXIST) if `path` is a non-empty folder by then; on any
 * failure the temporary folder is removed. An interrupted process leaves only its temporary
 * folder, never a half-filled `path`.
 */
export async function writeFolderAtomic(path: string, fill: (folder: string) => Promise<void>): Promise<void> {
  const temp = temporaryPath(path);
  await mkdir(temp);
  try {
    await fill(temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  await syncFolder(dirname(path));
}

/** Writes `data` (UTF-8 for strings) to `path` atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeChunksAtomic(path, [typeof data === 'string' ? Buffer.from(data, 'utf8') : data]);
}

/** Writes `chunks` one after another to `path` atomically. */
export async function writeChunksAtomic(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  await writeAtomic(path, async (file) => {
    for (const chunk of chunks) await writeAll(file, chunk);
  });
}

/** Writes all of `bytes` at the file's current position, in chunks Node accepts. */
export async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, Math.min(bytes.length - done, MAX_WRITE));
    done += bytesWritten;
  }
}

/** Makes the rename itself durable. Best effort: some platforms (Windows) cannot open a folder. */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // The file is complete either way; only the rename's durability across a crash is at stake.
  } finally {
    await handle?.close();
  }
}
