// Tensor memory of the WebAssembly backend: plain ArrayBuffers that the garbage collector frees
// (the Node-API addon's GC-fed native free list, bind_memory.cc, has no counterpart here; the
// pool in storage.ts still recycles released buffers). Kernel calls copy them into the wasm heap
// (marshal.ts): copying costs a small share of a training step, and keeps a tensor nobody
// disposed from holding wasm memory, which the 4 GiB limit makes precious.
import type { MemoryKernels } from '../memory.js';
import { WASM_MEMORY_LIMIT, WasmMemoryLimitError, ensureFits } from './memory-limit.js';

/** A zeroed buffer; refused with a typed error when no kernel could take it or the JavaScript heap has no room. */
function allocBuffer(bytes: number): ArrayBuffer {
  ensureFits(bytes, 'a tensor');
  try {
    return new ArrayBuffer(bytes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new WasmMemoryLimitError(
      bytes,
      WASM_MEMORY_LIMIT,
      'a tensor',
      `the JavaScript heap refused it (${e.message})`,
    );
  }
}

export const jsMemoryKernels: MemoryKernels = {
  allocBuffer,
  bufferPoolStats: () => ({ pooledBytes: 0, limitBytes: 0, collectedBytes: 0 }),
  setBufferPoolLimit: () => undefined,
  clearBufferPool: () => undefined,
};
