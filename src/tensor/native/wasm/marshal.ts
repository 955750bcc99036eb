// One kernel call into the WebAssembly module. Tensor memory stays in JavaScript ArrayBuffers (see
// memory.ts), so a call copies the bytes its typed arrays view into the wasm heap, passes views of
// those copies (native/wasm/napi.h reads them as the addon reads its buffers), and copies them back
// when the kernel returns: only the ranges holding an argument the kernel writes (kernel-outputs.ts),
// so a weight read by a product is copied in but not back out; an output the kernel writes whole, alone
// in its range, is not copied in. Arrays that share an ArrayBuffer
// (views of one storage, or an output that is also an input) are copied as one range, so the
// kernel sees them alias as they do here.
// Typed arrays inside plain-object arguments (a QuantState and its nested absmax) are copied too.
import { ensureFits, heapExhausted } from './memory-limit.js';
import { overwrittenArgument, writtenArguments } from './kernel-outputs.js';

/** What the Emscripten module (scripts/build-wasm.cjs) exports to this file. */
export interface WasmModule {
  kernelTable(): Record<string, number>;
  call(index: number, args: unknown[]): unknown;
  errorMarker(): object;
  lastError(): { name: string; message: string };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** The heap's memory (the threaded build exports it); the single-threaded build has only HEAPU8. */
  wasmMemory?: { buffer: ArrayBufferLike };
  HEAPU8?: Uint8Array;
  /** Emscripten's thread pool: its Workers (worker_threads in Node); absent from the single-threaded build. */
  PThread?: { unusedWorkers: Array<{ unref?: () => void }>; runningWorkers: Array<{ unref?: () => void }> };
}

type View = ArrayBufferView & { length: number };
type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => View;

interface Range {
  lo: number;
  hi: number;
  ptr: number;
  /** Whether an argument the kernel may write lies in this range (it is then copied back). */
  written: boolean;
  /** Whether the range is exactly one argument that the kernel writes whole without reading (not copied in). */
  overwritten: boolean;
}

const ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, Error };

function isView(v: unknown): v is View {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isView(v);
}

/** Adds the byte range of every typed array in `value` (an argument, or an object's field) to `ranges`. */
function collect(
  value: unknown,
  ranges: Map<ArrayBufferLike, Range>,
  depth: number,
  written: boolean,
  overwritten = false,
): void {
  if (isView(value)) {
    const start = value.byteOffset & ~7; // keep 8-byte alignment for Float64Array / BigInt64Array
    const end = value.byteOffset + value.byteLength;
    const r = ranges.get(value.buffer);
    // Alignment bytes before the view are not the kernel's to write: such a range is copied in.
    if (r === undefined) {
      ranges.set(value.buffer, {
        lo: start,
        hi: end,
        ptr: 0,
        written,
        overwritten: overwritten && start === value.byteOffset,
      });
    } else {
      r.lo = Math.min(r.lo, start);
      r.hi = Math.max(r.hi, end);
      r.written ||= written;
      r.overwritten = false;
    }
  } else if (depth > 0 && isPlainObject(value)) {
    for (const field of Object.values(value)) collect(field, ranges, depth - 1, written);
  }
}

/** `value` with each typed array replaced by the same view of its copy in the wasm heap. */
function substitute(
  value: unknown,
  ranges: Map<ArrayBufferLike, Range>,
  heap: ArrayBufferLike,
  depth: number,
): unknown {
  if (isView(value)) {
    const r = ranges.get(value.buffer)!;
    const Ctor = value.constructor as ViewConstructor;
    return new Ctor(heap, r.ptr + value.byteOffset - r.lo, value.length);
  }
  if (depth > 0 && isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [k, field] of Object.entries(value)) copy[k] = substitute(field, ranges, heap, depth - 1);
    return copy;
  }
  return value;
}

/** The heap's current buffer (a new one after each growth). */
function heapBuffer(mod: WasmModule): ArrayBufferLike {
  return mod.wasmMemory !== undefined ? mod.wasmMemory.buffer : mod.HEAPU8!.buffer;
}

/** Objects nest at most this deep in a kernel's arguments (QuantState4.nested.absmax). */
const MAX_DEPTH = 3;

/** A JavaScript function that runs kernel `index` of `mod` on arguments held in JavaScript memory. */
export function kernelCaller(mod: WasmModule, index: number, name: string): (...args: unknown[]) => unknown {
  const marker = mod.errorMarker();
  const writes = writtenArguments(name);
  return (...args: unknown[]): unknown => {
    const ranges = new Map<ArrayBufferLike, Range>();
    const whole = overwrittenArgument(name, args);
    args.forEach((a, i) => collect(a, ranges, MAX_DEPTH, writes === undefined || writes.includes(i), i === whole));
    try {
      for (const r of ranges.values()) {
        const bytes = r.hi - r.lo;
        // Checked before malloc, whose 32-bit size argument would wrap a larger one into a small block.
        ensureFits(bytes, `${name}: an argument`);
        r.ptr = mod._malloc(Math.max(8, bytes)) >>> 0;
        if (r.ptr === 0) throw heapExhausted(bytes, heapBuffer(mod).byteLength, `${name}: an argument`);
      }
      let heap = heapBuffer(mod);
      for (const [buffer, r] of ranges)
        if (!r.overwritten) new Uint8Array(heap, r.ptr, r.hi - r.lo).set(new Uint8Array(buffer, r.lo, r.hi - r.lo));
      const result = mod.call(
        index,
        args.map((a) => substitute(a, ranges, heap, MAX_DEPTH)),
      );
      if (result === marker) {
        const e = mod.lastError();
        throw new (ERRORS[e.name] ?? Error)(e.message);
      }
      heap = heapBuffer(mod);
      for (const [buffer, r] of ranges)
        if (r.written) new Uint8Array(buffer, r.lo, r.hi - r.lo).set(new Uint8Array(heap, r.ptr, r.hi - r.lo));
      return result;
    } finally {
      for (const r of ranges.values()) if (r.ptr !== 0) mod._free(r.ptr);
    }
  };
}
