// A folder on a web server as a FileSource: `${base}/${name}` fetched with fetch(). A file is
// fetched once, as a Blob (browsers keep large ones on disk), and read from there. HTTP cannot
// list a folder, so list() is empty: a chat template in additional_chat_templates/ is not found
// over a URL (chat_template.jinja and tokenizer_config.json's template are).
import { MissingFileError } from '../errors.js';
import { blobFile } from './blobs.js';
import { joinName, type FileSource, type ReadableFile } from './types.js';

export class UrlSource implements FileSource {
  private readonly fetched = new Map<string, Promise<Blob | null>>();

  /** `base`: the folder's URL (absolute, or relative to the page). */
  constructor(readonly base: string) {}

  describe(name = ''): string {
    return joinName(this.base, name);
  }

  async exists(): Promise<boolean> {
    return true;
  }

  async isFile(name: string): Promise<boolean> {
    return (await this.blob(name)) !== null;
  }

  async readText(name: string): Promise<string | null> {
    const blob = await this.blob(name);
    return blob === null ? null : blob.text();
  }

  async open(name: string): Promise<ReadableFile> {
    const blob = await this.blob(name);
    if (blob === null) throw new MissingFileError([this.describe(name)]);
    return blobFile(blob);
  }

  async list(): Promise<string[]> {
    return [];
  }

  folder(folder: string): FileSource {
    return new UrlSource(this.describe(folder));
  }

  /** The file's contents, fetched once; null on 404. */
  private blob(name: string): Promise<Blob | null> {
    let pending = this.fetched.get(name);
    if (pending === undefined) {
      pending = fetchBlob(this.describe(name));
      this.fetched.set(name, pending);
      pending.catch(() => this.fetched.delete(name));
    }
    return pending;
  }
}

async function fetchBlob(url: string): Promise<Blob | null> {
  const response = await fetch(url);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status} ${response.statusText}`);
  return response.blob();
}
