export interface MemoryKernels {
  /**
   * A new ArrayBuffer of `bytes` whose memory, once the garbage collector frees the buffer, goes to
   * a bounded native free list that later calls reuse (warm pages, no page faults). Not zeroed
   * unless `zeroed`.
   */
  allocBuffer(bytes: number, zeroed: boolean): ArrayBuffer;
  /** Bytes on the native free list, its limit, and the bytes of all buffers the GC has freed so far. */
  bufferPoolStats(): { pooledBytes: number; limitBytes: number; collectedBytes: number };
  /** Bytes the native free list may hold; memory returned beyond it is freed. */
  setBufferPoolLimit(bytes: number): void;
  /** Frees everything on the native free list. */
  clearBufferPool(): void;
}
