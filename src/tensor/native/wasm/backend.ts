// The WebAssembly backend: the addon's kernels (native/src, built by scripts/build-wasm.cjs with
// native/wasm/napi.h standing in for node-addon-api) behind the same NativeAddon interface. This
// file has no Node imports, so a browser build can use it with its own way to fetch the module.
import type { NativeAddon } from '../index.js';
import { kernelCaller, type WasmModule } from './marshal.js';
import { jsMemoryKernels } from './memory.js';

/** The Emscripten factory (build/wasm/peftjs-wasm.js's export) and what it accepts. */
export type WasmFactory = (options: {
  peftjsWorkers: number;
  preRun: Array<(mod: { ENV: Record<string, string> }) => void>;
  locateFile?: (file: string, prefix: string) => string;
  wasmBinary?: Uint8Array;
  mainScriptUrlOrBlob?: string;
}) => Promise<WasmModule>;

export interface WasmBackendOptions {
  /** Threads the kernels use, the caller's included (workers made at start: threads - 1). */
  threads: number;
  /** Where the .wasm and worker files are, given their names (Emscripten's locateFile). */
  locateFile?: (file: string, prefix: string) => string;
  /** The .wasm file's bytes, when the caller has read them (Node: Emscripten 3.1.6 would fetch() a path). */
  wasmBinary?: Uint8Array;
  /** The URL of peftjs-wasm.js, which its thread workers load (inside a page's Worker Emscripten cannot find it itself). */
  mainScriptUrlOrBlob?: string;
}

/** The WebAssembly memory limit: wasm32 addresses 4 GiB. */
export const WASM_MEMORY_LIMIT = 4 * 2 ** 30;

export async function createWasmBackend(factory: WasmFactory, options: WasmBackendOptions): Promise<NativeAddon> {
  const threads = Math.max(1, Math.floor(options.threads));
  const mod = await factory({
    // At least one: Emscripten 3.1.6 with a pool of 0 never finishes starting (the wasm-instantiate
    // dependency is only removed by the last pool worker to load).
    peftjsWorkers: Math.max(1, threads - 1),
    ...(options.mainScriptUrlOrBlob ? { mainScriptUrlOrBlob: options.mainScriptUrlOrBlob } : {}),
    // The kernels read their thread count from PEFTJS_NUM_THREADS (threadpool.cc), which must not
    // exceed the workers made at start: a thread beyond them would wait for the event loop.
    preRun: [(m) => void (m.ENV.PEFTJS_NUM_THREADS = String(threads))],
    ...(options.locateFile ? { locateFile: options.locateFile } : {}),
    ...(options.wasmBinary ? { wasmBinary: options.wasmBinary } : {}),
  });
  // In Node the pool's workers must not keep the process alive (a browser's Workers have no unref).
  for (const worker of [...mod.PThread.unusedWorkers, ...mod.PThread.runningWorkers]) worker.unref?.();
  const kernels: Record<string, unknown> = {};
  for (const [name, index] of Object.entries(mod.kernelTable())) kernels[name] = kernelCaller(mod, index, name);
  const setNumThreads = kernels.setNumThreads as (n: number) => void;
  kernels.setNumThreads = (n: number) => {
    if (!(n >= 1 && n <= threads)) {
      throw new RangeError(
        `setNumThreads(${n}): the WebAssembly backend started with ${threads} thread(s) and can use 1 to ${threads}; ` +
          'set PEFTJS_NUM_THREADS before peftjs loads for more',
      );
    }
    setNumThreads(n);
  };
  return Object.assign(kernels, jsMemoryKernels) as unknown as NativeAddon;
}

/** A model or buffer that cannot fit the WebAssembly memory: its size and the limit. */
export class WasmMemoryLimitError extends RangeError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    what: string,
  ) {
    super(
      `${what} needs ${(bytes / 2 ** 30).toFixed(2)} GiB but the WebAssembly memory holds at most ` +
        `${(limit / 2 ** 30).toFixed(0)} GiB; use a smaller model, a narrower dtype (bf16) or 4-bit weights, or the native backend`,
    );
    this.name = 'WasmMemoryLimitError';
  }
}

/** Refuses, before anything is allocated, what cannot fit the 4 GiB WebAssembly memory. */
export function ensureFits(bytes: number, what = 'the model'): void {
  if (!(bytes <= WASM_MEMORY_LIMIT)) throw new WasmMemoryLimitError(bytes, WASM_MEMORY_LIMIT, what);
}
