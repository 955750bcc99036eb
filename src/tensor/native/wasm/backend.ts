// The WebAssembly backend: the addon's kernels (native/src, built by scripts/build-wasm.cjs with
// native/wasm/napi.h standing in for node-addon-api) behind the same NativeAddon interface. This
// file has no Node imports, so a browser build can use it with its own way to fetch the module.
import type { NativeAddon } from '../index.js';
import { kernelCaller, type WasmModule } from './marshal.js';
import { jsMemoryKernels } from './memory.js';
import { withContiguousCopy } from './contiguous-copy.js';

export { WASM_MEMORY_LIMIT, WasmMemoryLimitError, ensureFits } from './memory-limit.js';

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
  const pool = mod.PThread;
  if (pool !== undefined) for (const worker of [...pool.unusedWorkers, ...pool.runningWorkers]) worker.unref?.();
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
  kernels.copyStrided = withContiguousCopy(kernels.copyStrided as NativeAddon['copyStrided']);
  // Its outputs are typed arrays in objects inside an array, which the marshaller does not look into
  // (marshal.ts: arguments and plain objects' fields only), so they would stay unwritten; and marking
  // the whole array written would copy the weights back out on every call. Without it, callers run
  // gemm per product (NativeAddon marks it optional).
  delete kernels.gemmNkMany;
  return Object.assign(kernels, jsMemoryKernels) as unknown as NativeAddon;
}
