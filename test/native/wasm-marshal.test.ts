// The WebAssembly backend's marshalling (src/tensor/native/wasm/marshal.ts) copies back out of the
// wasm heap only the ranges holding an argument the kernel writes (kernel-outputs.ts). Checked on a
// stand-in module whose every kernel notes the first value of each array it is given (what was copied
// in) and then overwrites them all: what comes back shows what was copied back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelCaller, type WasmModule } from '../../src/tensor/native/wasm/marshal.js';

/** A module with a 1 MiB heap (bump allocator, filled with 9) whose kernel writes 7 into every typed array argument. */
function scribblingModule(seen: number[] = []): WasmModule {
  const heap = new Uint8Array(1 << 20);
  new Float32Array(heap.buffer).fill(9);
  let next = 8;
  return {
    kernelTable: () => ({}),
    call: (_index, args) => {
      for (const a of args) if (a instanceof Float32Array) seen.push(a[0]!);
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
function gemmArgs(A: Float32Array, B: Float32Array, C: Float32Array, beta = 0): unknown[] {
  return [false, false, 2, 2, 2, 1, A, 0, 2, 0, B, 0, 0, 2, 0, beta, C, 0, 2, 0, 1];
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
  const [A, B, C] = [0, 1, 2].map((i) => storage.subarray(4 * i, 4 * i + 4)) as [
    Float32Array,
    Float32Array,
    Float32Array,
  ];
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

test('C of a gemm with beta = 0 is not copied in (it is overwritten), with beta = 1 or a longer C it is', () => {
  for (const [beta, length, copiedIn] of [
    [0, 4, false],
    [1, 4, true],
    [0, 5, true], // C longer than M x N: the kernel leaves its tail, which must come back as it was
  ] as const) {
    const seen: number[] = [];
    const gemm = kernelCaller(scribblingModule(seen), 0, 'gemm');
    const C = new Float32Array(length).fill(3);
    gemm(...gemmArgs(new Float32Array(4).fill(1), new Float32Array(4).fill(2), C, beta));
    assert.deepEqual(seen, [1, 2, copiedIn ? 3 : 9], `beta ${beta}, C of ${length}`);
  }
});

test('an overwritten output that shares its ArrayBuffer with an input is copied in (one range)', () => {
  const seen: number[] = [];
  const binary = kernelCaller(scribblingModule(seen), 0, 'binary');
  const storage = new Float32Array(8).fill(4);
  const [a, out] = [storage.subarray(0, 4), storage.subarray(4)];
  binary(0, 0, a, 0, [1], new Float32Array(4).fill(5), 0, [1], [4], out);
  assert.deepEqual(seen, [4, 5, 4]);
});
