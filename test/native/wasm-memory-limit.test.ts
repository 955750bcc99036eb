// The WebAssembly backend's typed out-of-memory error (src/tensor/native/wasm/memory-limit.ts):
// a tensor or kernel argument beyond the 4 GiB memory, and a heap allocation that fails, raise
// WasmMemoryLimitError naming the bytes asked and the limit (no RangeError from the copy step);
// loadPretrained on the wasm backend refuses a model too large before building it or reading a weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  openSync,
  closeSync,
  writeSync,
  writeFileSync,
  ftruncateSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelCaller, type WasmModule } from '../../src/tensor/native/wasm/marshal.js';
import { jsMemoryKernels } from '../../src/tensor/native/wasm/memory.js';
import { WasmMemoryLimitError } from '../../src/tensor/native/wasm/memory-limit.js';

const GiB = 2 ** 30;

/** A module whose heap is `heapBytes` and whose malloc fails, recording the sizes asked. */
function failingModule(heapBytes: number, asked: number[]): WasmModule {
  return {
    kernelTable: () => ({}),
    call: () => assert.fail('the kernel must not run'),
    errorMarker: () => ({}),
    lastError: () => ({ name: 'Error', message: '' }),
    _malloc: (bytes: number) => (asked.push(bytes), 0),
    _free: () => undefined,
    wasmMemory: { buffer: new ArrayBuffer(heapBytes) },
    PThread: { unusedWorkers: [], runningWorkers: [] },
  };
}

test('a failed heap allocation is a WasmMemoryLimitError naming the bytes asked and the heap in use', () => {
  const asked: number[] = [];
  const gemm = kernelCaller(failingModule(1024, asked), 0, 'gemm');
  assert.throws(
    () => gemm(new Float32Array(3 * 2 ** 18)),
    (e: unknown) =>
      e instanceof WasmMemoryLimitError &&
      e.bytes === 3 * 2 ** 20 &&
      e.limit === 4 * GiB &&
      /^gemm: an argument needs 3.0 MiB but the WebAssembly memory \(at most 4 GiB\) has no room for it beside/.test(
        e.message,
      ),
  );
  assert.deepEqual(asked, [3 * 2 ** 20]);
});

test('an argument beyond 4 GiB is refused before malloc, whose 32-bit size would wrap it', () => {
  const asked: number[] = [];
  const big = new Float32Array(new ArrayBuffer(5 * GiB)); // zeroed pages, never touched
  assert.throws(
    () => kernelCaller(failingModule(1024, asked), 0, 'embedding')(big),
    (e: unknown) =>
      e instanceof WasmMemoryLimitError &&
      e.bytes === 5 * GiB &&
      /embedding: an argument needs 5.00 GiB .* at most 4 GiB/.test(e.message),
  );
  assert.deepEqual(asked, []);
});

test('a tensor beyond 4 GiB is refused at allocation on the wasm backend', () => {
  assert.throws(
    () => jsMemoryKernels.allocBuffer(4 * GiB + 4, true),
    (e: unknown) =>
      e instanceof WasmMemoryLimitError && e.bytes === 4 * GiB + 4 && /a tensor needs 4.00 GiB/.test(e.message),
  );
  assert.equal(jsMemoryKernels.allocBuffer(16, true).byteLength, 16);
});

test(
  'loadPretrained on wasm refuses a model over 4 GiB from its headers, before building it',
  { timeout: 120_000 },
  () => {
    // GPT-2's config with a model.safetensors whose one header claims 5 GB of float32 (a sparse file).
    const dir = mkdtempSync(join(tmpdir(), 'peftjs-huge-'));
    try {
      copyFileSync('test/fixtures/hf/gpt2/config.json', join(dir, 'config.json'));
      const dataBytes = 50_000 * 25_000 * 4;
      const header = Buffer.from(
        JSON.stringify({
          'transformer.wte.weight': { dtype: 'F32', shape: [50_000, 25_000], data_offsets: [0, dataBytes] },
        }),
      );
      const fd = openSync(join(dir, 'model.safetensors'), 'w');
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(header.length));
      writeSync(fd, length);
      writeSync(fd, header);
      ftruncateSync(fd, 8 + header.length + dataBytes);
      closeSync(fd);
      const script = join(dir, 'load.mts');
      writeFileSync(
        script,
        `const { loadPretrained } = await import(${JSON.stringify(new URL('../../src/models/index.ts', import.meta.url).href)});\n` +
          `try { await loadPretrained(${JSON.stringify(dir)}, 'causal-lm'); console.log('loaded'); }\n` +
          'catch (e) { console.log(e.name + ": " + e.message); }\n',
      );
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
        env: { ...env, PEFTJS_BACKEND: 'wasm', PEFTJS_NUM_THREADS: '1' },
        encoding: 'utf8',
      });
      assert.match(
        run.stdout,
        /^WasmMemoryLimitError: .*peftjs-huge-.* \(in float32\) needs 4.66 GiB but the WebAssembly memory holds at most 4 GiB/,
        run.stderr,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
