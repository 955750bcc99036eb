// The browser build's meaning of a location string: a URL (absolute, or relative to the page or
// worker). Swapped in for default.ts by scripts/build-browser.ts and package.json's "browser" field.
import { PeftError } from '../../tensor/errors.js';
import { UrlSource } from './url.js';
import type { FileSink, FileSource } from './types.js';

export function sourceFor(location: string | FileSource): FileSource {
  return typeof location === 'string' ? new UrlSource(location.replace(/\/+$/, '')) : location;
}

/** A page cannot write to a path: it saves into a BlobSink and offers the Blobs for download. */
export function sinkFor(location: string | FileSink): FileSink {
  if (typeof location !== 'string') return location;
  throw new PeftError(
    'E_VALUE',
    `a page cannot write to the path ${JSON.stringify(location)}; save into a BlobSink (new BlobSink()) and download its files`,
  );
}

/** A URL ending in .json names that file; any other names a folder holding `defaultName`. */
export async function locateFile(
  location: string | FileSource,
  defaultName: string,
): Promise<{ source: FileSource; name: string }> {
  if (typeof location !== 'string' || !/\.json$/i.test(location))
    return { source: sourceFor(location), name: defaultName };
  return fileAt(location);
}

export function fileAt(url: string): { source: FileSource; name: string } {
  const slash = url.lastIndexOf('/');
  return slash < 0
    ? { source: new UrlSource('.'), name: url }
    : { source: new UrlSource(url.slice(0, slash)), name: url.slice(slash + 1) };
}
