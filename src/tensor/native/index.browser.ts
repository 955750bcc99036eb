// The browser build's kernels (swapped in for index.ts): the WebAssembly backend only, started by
// startWasmBackend() once the page or worker has loaded Emscripten's peftjs-wasm.js. `native` is
// filled in place then, so the modules that captured it at import see the kernels; no kernel runs
// at import time (storage.ts sets the pool limit then: the memory functions are there from the start).
import { createWasmBackend, type WasmFactory } from './wasm/backend.js';
import { jsMemoryKernels } from './wasm/memory.js';
import { engineHasRelaxedSimd, wasmScript, type WasmScript } from './wasm/relaxed-simd.js';
import type { BackendInfo, NativeAddon } from './index.js';

export type { BackendInfo, NativeAddon } from './index.js';

// Tensor memory is plain ArrayBuffers (wasm/memory.ts), usable before the kernels start.
export const native = { ...jsMemoryKernels } as NativeAddon;
let started: BackendInfo | null = null;

export interface StartOptions {
  /** Threads to use (default: the machine's, when the page is cross-origin isolated; else 1). */
  threads?: number;
  /** Absolute URL of the kernels' script (availableThreads().script) that made `factory`: its pthread workers load it again. */
  scriptUrl: string;
  /** Called with a one-line warning when threads are not available. */
  warn?: (message: string) => void;
}

/**
 * The threads a page can have, and the build of the kernels to load for them: threads need
 * SharedArrayBuffer, which needs cross-origin isolation; without it the threaded build cannot even
 * instantiate (its memory is shared), so a single-threaded one (peftjs-wasm-st.js) is used. Where the
 * browser validates relaxed SIMD, the build whose GEMM multiply-adds with it (peftjs-wasm-relaxed*.js).
 */
export function availableThreads(): {
  threads: number;
  script: WasmScript;
  warning?: string;
} {
  const scope = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const relaxedSimd = engineHasRelaxedSimd();
  if (scope.crossOriginIsolated !== true || typeof SharedArrayBuffer === 'undefined') {
    return {
      threads: 1,
      script: wasmScript({ threaded: false, relaxedSimd }),
      warning:
        'peftjs: this page is not cross-origin isolated, so the engine runs on one thread; serve it with the headers ' +
        'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp for all cores',
    };
  }
  return {
    threads: Math.max(1, scope.navigator?.hardwareConcurrency ?? 1),
    script: wasmScript({ threaded: true, relaxedSimd }),
  };
}

/** Starts the WebAssembly kernels (once); `factory` is the createPeftjsWasm of the script availableThreads() names. */
export async function startWasmBackend(factory: WasmFactory, options: StartOptions): Promise<BackendInfo> {
  if (started !== null) return started;
  const available = availableThreads();
  if (available.warning !== undefined) (options.warn ?? console.warn)(available.warning);
  const threads = Math.min(options.threads ?? available.threads, available.threads);
  const base = options.scriptUrl.slice(0, options.scriptUrl.lastIndexOf('/') + 1);
  Object.assign(
    native,
    await createWasmBackend(factory, {
      threads,
      locateFile: (file) => base + file,
      mainScriptUrlOrBlob: options.scriptUrl,
    }),
  );
  started = { name: 'wasm', simd: native.simdLevel(), threads: native.numThreads() };
  return started;
}

export function backendInfo(): BackendInfo {
  if (started === null)
    throw new Error('peftjs: the WebAssembly backend has not started; call startWasmBackend() first');
  return started;
}
