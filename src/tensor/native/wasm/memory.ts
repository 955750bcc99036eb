// Tensor memory of the WebAssembly backend: plain ArrayBuffers that the garbage collector frees
// (the Node-API addon's GC-fed native free list, bind_memory.cc, has no counterpart here; the
// pool in storage.ts still recycles released buffers). Kernel calls copy them into the wasm heap
// (marshal.ts): copying costs a small share of a training step, and keeps a tensor nobody
// disposed from holding wasm memory, which the 4 GiB limit makes precious.
import type { MemoryKernels } from '../memory.js';

export const jsMemoryKernels: MemoryKernels = {
  allocBuffer: (bytes: number) => new ArrayBuffer(bytes), // always zeroed
  bufferPoolStats: () => ({ pooledBytes: 0, limitBytes: 0, collectedBytes: 0 }),
  setBufferPoolLimit: () => undefined,
  clearBufferPool: () => undefined,
};
