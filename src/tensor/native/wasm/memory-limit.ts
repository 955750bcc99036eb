// The WebAssembly backend's memory limit and its typed error. wasm32 addresses 4 GiB, and every
// kernel call copies its arguments into that memory (marshal.ts), so a tensor larger than it can
// never be computed on, and a call whose copies find no room fails there.

/** The WebAssembly memory limit: wasm32 addresses 4 GiB. */
export const WASM_MEMORY_LIMIT = 4 * 2 ** 30;

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** What cannot fit the WebAssembly memory (a model, a tensor, a kernel's arguments): its size and the limit. */
export class WasmMemoryLimitError extends RangeError {
  constructor(
    /** Bytes asked for. */
    readonly bytes: number,
    /** The memory's limit in bytes. */
    readonly limit: number,
    what: string,
    /** Why it failed, when the size alone is under the limit (memory already in use). */
    why?: string,
  ) {
    super(
      `${what} needs ${formatBytes(bytes)} but ${why ?? `the WebAssembly memory holds at most ${(limit / 2 ** 30).toFixed(0)} GiB`}; ` +
        'use a smaller model, batch or sequence length, a narrower dtype (bf16) or 4-bit weights, or the native backend',
    );
    this.name = 'WasmMemoryLimitError';
  }
}

/** Refuses, before anything is allocated, what cannot fit the 4 GiB WebAssembly memory. */
export function ensureFits(bytes: number, what = 'the model'): void {
  if (!(bytes <= WASM_MEMORY_LIMIT)) throw new WasmMemoryLimitError(bytes, WASM_MEMORY_LIMIT, what);
}

/** The heap's allocation of `bytes` failed although they are under the limit: the memory in use is named. */
export function heapExhausted(bytes: number, heapBytes: number, what: string): WasmMemoryLimitError {
  return new WasmMemoryLimitError(
    bytes,
    WASM_MEMORY_LIMIT,
    what,
    `the WebAssembly memory (at most ${(WASM_MEMORY_LIMIT / 2 ** 30).toFixed(0)} GiB) has no room for it beside the ` +
      `${formatBytes(heapBytes)} its heap already holds`,
  );
}
