// What a location given as a string means. In Node it is a local path; the browser build swaps this
// file for default.browser.ts, where it is a URL (see scripts/build-browser.ts and package.json's
// "browser" field). Every loader takes a string or a FileSource and goes through here.
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { FolderSink, FolderSource } from './folder.js';
import type { FileSink, FileSource } from './types.js';

/** The folder `location` names, as a source (a source passes through). */
export function sourceFor(location: string | FileSource): FileSource {
  return typeof location === 'string' ? new FolderSource(location) : location;
}

/** The folder `location` names, as a sink to write into (a sink passes through). */
export function sinkFor(location: string | FileSink): FileSink {
  return typeof location === 'string' ? new FolderSink(location) : location;
}

/**
 * A folder or a file inside one: a folder means its file `defaultName` (loadConfig takes the model
 * folder or config.json itself).
 */
export async function locateFile(
  location: string | FileSource,
  defaultName: string,
): Promise<{ source: FileSource; name: string }> {
  if (typeof location !== 'string') return { source: location, name: defaultName };
  const isFolder = await stat(location).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isFolder
    ? { source: new FolderSource(location), name: defaultName }
    : { source: new FolderSource(dirname(location)), name: basename(location) };
}

/** The file at `path`: its folder as a source, and its name. */
export function fileAt(path: string): { source: FileSource; name: string } {
  return { source: new FolderSource(dirname(path)), name: basename(path) };
}
