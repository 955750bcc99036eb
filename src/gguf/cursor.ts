// Sequential little-endian reads from an open file through a bounded window, for parsing a GGUF
// header without reading the file whole. Every read is checked against the bytes the file has left
// first, so a count or length in a hostile file can never make us allocate more than the file holds.
import type { FileHandle } from 'node:fs/promises';
import { GgufFormatError } from './errors.js';
import { MAX_READ } from '../io/files/max-read.js';

const WINDOW = 1 << 20;

export class FileCursor {
  /** Absolute file position of the next byte to parse. */
  position = 0;
  private window = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  /** File position of window[0]. */
  private windowStart = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly file: FileHandle,
    /** The file's size in bytes. */
    readonly size: number,
    readonly path: string,
  ) {}

  /** Bytes between the position and the end of the file. */
  get remaining(): number {
    return this.size - this.position;
  }

  /** Makes the next `n` bytes readable; `what` names them in the error when the file is too short. */
  async need(n: number, what: string): Promise<void> {
    if (n > this.remaining) {
      throw new GgufFormatError(
        this.path,
        `${what} needs ${n} bytes at byte ${this.position} but the ${this.size}-byte file has ${this.remaining} left; it is truncated or corrupt`,
      );
    }
    const offset = this.position - this.windowStart;
    if (offset + n <= this.window.length) return;
    const length = Math.min(Math.max(n, WINDOW), this.remaining);
    const window = new Uint8Array(length);
    await readFully(this.file, window, this.position, this.path);
    this.window = window;
    this.view = new DataView(window.buffer);
    this.windowStart = this.position;
  }

  // The readers below take bytes that need() made available.
  u8(): number {
    return this.view.getUint8(this.advance(1));
  }
  i8(): number {
    return this.view.getInt8(this.advance(1));
  }
  u16(): number {
    return this.view.getUint16(this.advance(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.advance(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.advance(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.advance(4), true);
  }
  f32(): number {
    return this.view.getFloat32(this.advance(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.advance(8), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.advance(8), true);
  }
  i64(): bigint {
    return this.view.getBigInt64(this.advance(8), true);
  }
  /** `n` bytes decoded as UTF-8 (invalid sequences become U+FFFD, as ggml keeps bytes it cannot check). */
  utf8(n: number): string {
    const at = this.advance(n);
    return this.decoder.decode(this.window.subarray(at, at + n));
  }
  /** A copy of the next `n` bytes, in a buffer of its own (aligned for any typed array). */
  copy(n: number): Uint8Array {
    const at = this.advance(n);
    return this.window.slice(at, at + n);
  }

  private advance(n: number): number {
    const at = this.position - this.windowStart;
    this.position += n;
    return at;
  }
}

/** Fills `target` from file position `position`; a short file is a GgufFormatError. */
export async function readFully(file: FileHandle, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await file
      .read(target, done, Math.min(target.length - done, MAX_READ), position + done)
      .catch((error: unknown) => {
        throw new GgufFormatError(path, `cannot be read: ${(error as Error).message}`);
      });
    if (bytesRead === 0) {
      throw new GgufFormatError(path, `the file ends at byte ${position + done}; was it changed while open?`);
    }
    done += bytesRead;
  }
}
