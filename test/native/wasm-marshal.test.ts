// The WebAssembly backend's marshalling (src/tensor/native/wasm/marshal.ts) copies back out of the
// wasm heap only the ranges holding an argument the kernel writes (kernel-outputs.ts). Checked on a
// stand-in module whose every kernel overwrites all the arrays it is given: what comes back shows
// what was copied back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelCaller, type WasmModule } from '../../src/tensor/native/wasm/marshal.js';

/** A module with a 1 MiB heap (bump allocator) whose kernel writes 7 into every typed array argument. */
function scribblingModule(): WasmModule {
  const heap = new Uint8Array(1 << 20);
  let next = 8;
  return {
    kernelTable: () => ({}),
    call: (_index, args) => {
      for (const a of args) if (a instanceof Float32Array) a.fill(7);
      return undefined;
    },
    errorMarker: () => ({}),
    lastError: () => ({ name: 'Error', message: '' }),
    _malloc: (bytes) => {
      const ptr = next;
      next += (bytes + 15) & ~15;
      return ptr;
    },
    _free: () => undefined,
    HEAPU8: heap,
  };
}

/** gemm's arguments (src/tensor/native/gemm.ts) for 2 x 2 matrices A, B and C. */
function gemmArgs(A: Float32Array, B: Float32Array, C: Float32Array): unknown[] {
  return [false, false, 2, 2, 2, 1, A, 0, 2, 0, B, 0, 0, 2, 0, 0, C, 0, 2, 0, 1];
}

test('gemm: C is copied back out of the heap, A and B (read only) are not', () => {
  const gemm = kernelCaller(scribblingModule(), 0, 'gemm');
  const A = new Float32Array(4).fill(1),
    B = new Float32Array(4).fill(2),
    C = new Float32Array(4);
  gemm(...gemmArgs(A, B, C));
  assert.deepEqual([...A, ...B, ...C], [1, 1, 1, 1, 2, 2, 2, 2, 7, 7, 7, 7]);
});

test('an input that shares its ArrayBuffer with an output is copied back with it (one range)', () => {
  const gemm = kernelCaller(scribblingModule(), 0, 'gemm');
  const storage = new Float32Array(12).fill(1);
  const [A, B, C] = [0, 1, 2].map((i) => storage.subarray(4 * i, 4 * i + 4)) as [Float32Array, Float32Array, Float32Array];
  gemm(...gemmArgs(A, B, C));
  // The kernel wrote all three views in the heap; the range is written back whole, as the kernel left it.
  assert.deepEqual([...storage], new Array(12).fill(7));
});

test('a kernel missing from the table of outputs gets every argument copied back', () => {
  const adamw = kernelCaller(scribblingModule(), 0, 'adamw');
  const arrays = [0, 1, 2, 3].map(() => new Float32Array(4).fill(1));
  adamw(...arrays, 4, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
  for (const a of arrays) assert.deepEqual([...a], [7, 7, 7, 7]);
});
