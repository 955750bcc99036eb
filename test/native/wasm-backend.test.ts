// The WebAssembly backend (src/tensor/native/wasm/): the same kernels as the addon behind the same
// interface. Checked here: its products equal the addon's within float32 rounding, in the plain build
// and the one with relaxed SIMD (chosen where the engine has it), aliased buffers
// stay aliased through the copy into the wasm heap, kernel errors keep their class and message,
// and a representative set of parity suites passes with PEFTJS_BACKEND=wasm (`npm run test:wasm`
// runs them all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { native, useRelaxedSimd } from '../../src/tensor/native/index.js';
import { createWasmBackend, type WasmFactory } from '../../src/tensor/native/wasm/backend.js';

const load = async (script: string, threads: number) => {
  const path = new URL(`../../build/wasm/${script}`, import.meta.url).pathname;
  const factory = createRequire(import.meta.url)(path) as WasmFactory;
  return createWasmBackend(factory, { threads, wasmBinary: readFileSync(path.replace(/\.js$/, '.wasm')) });
};
const wasm = await load('peftjs-wasm.js', 2);
// Node 20 runs relaxed SIMD behind a V8 flag, which the loader sets (useRelaxedSimd).
assert.ok(useRelaxedSimd(), 'this Node validates relaxed SIMD');
const relaxed = await load('peftjs-wasm-relaxed.js', 2);
const builds = [
  ['plain', wasm, 'simd128'],
  ['relaxed SIMD', relaxed, 'relaxed-simd'],
] as const;

function random(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
}

/** `kernels`' gemm (C = alpha A B + beta C) equals the native addon's within float32 rounding. */
function assertGemmMatchesNative(
  kernels: typeof wasm,
  [M, N, K]: [number, number, number],
  seed: number,
  [alpha, beta] = [1, 0],
): void {
  const A = random(M * K, seed),
    B = random(K * N, seed + 1);
  const cWasm = random(M * N, seed + 2),
    cNative = Float32Array.from(cWasm);
  kernels.gemm(false, false, M, N, K, alpha, A, 0, K, 0, B, 0, 0, N, 0, beta, cWasm, 0, N, 0, 1);
  native.gemm(false, false, M, N, K, alpha, A, 0, K, 0, B, 0, 0, N, 0, beta, cNative, 0, N, 0, 1);
  for (let i = 0; i < M * N; i++)
    assert.ok(Math.abs(cWasm[i] - cNative[i]) < 1e-5, `C[${i}]: ${cWasm[i]} vs ${cNative[i]}`);
}

for (const [build, kernels, simd] of builds) {
  test(`wasm gemm (${build}) equals the native one within rounding, on both threads`, () => {
    assert.equal(kernels.simdLevel(), simd);
    assert.equal(kernels.numThreads(), 2);
    assertGemmMatchesNative(kernels, [67, 45, 129], 1);
    // Whole 4 x 8 tiles and partial ones, scaled and added to C.
    assertGemmMatchesNative(kernels, [64, 37, 300], 4, [0.5, 0.25]);
  });

  test(`wasm gemm (${build}) with transposed operands, on the packed path and the panel-streamed one (up to 256 rows)`, () => {
    // Partial 4-row and 8-column panels, K not a multiple of the packers' 4 k at a time.
    for (const [M, N, K] of [
      [301, 29, 67],
      [37, 45, 130],
    ] as const) {
      for (const [ta, tb] of [
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const A = random(M * K, M + K),
          B = random(K * N, N);
        const cWasm = new Float32Array(M * N),
          cNative = new Float32Array(M * N);
        for (const [k, C] of [
          [kernels, cWasm],
          [native, cNative],
        ] as const)
          k.gemm(ta, tb, M, N, K, 1, A, 0, ta ? M : K, 0, B, 0, 0, tb ? K : N, 0, 0, C, 0, N, 0, 1);
        for (let i = 0; i < M * N; i++)
          assert.ok(
            Math.abs(cWasm[i] - cNative[i]) < 1e-5,
            `${M}x${N}x${K} ${ta} ${tb} C[${i}]: ${cWasm[i]} vs ${cNative[i]}`,
          );
      }
    }
  });
}

test('PEFTJS_BACKEND=wasm loads the relaxed SIMD build where the engine has it, the plain one with PEFTJS_WASM_RELAXED_SIMD=0', () => {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const simdWith = (extra: Record<string, string>) => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '-e', "import('./src/index.js').then((p) => console.log(p.backendInfo().simd))"],
      { env: { ...env, PEFTJS_BACKEND: 'wasm', ...extra }, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  };
  assert.equal(simdWith({}), 'relaxed-simd');
  assert.equal(simdWith({ PEFTJS_WASM_RELAXED_SIMD: '0' }), 'simd128');
});

test('the single-threaded builds (for pages without SharedArrayBuffer) give the same gemm on one thread', async () => {
  for (const script of ['peftjs-wasm-st.js', 'peftjs-wasm-relaxed-st.js']) {
    const st = await load(script, 1);
    assert.equal(st.numThreads(), 1);
    assertGemmMatchesNative(st, [33, 20, 70], 3);
  }
});

test('views of one ArrayBuffer stay one buffer: an in-place AdamW step through subarrays', () => {
  const n = 16;
  const both = new Float32Array(4 * n).fill(0.5); // param, grad, m, v side by side
  const expected = Float32Array.from(both);
  const views = (a: Float32Array) =>
    [0, 1, 2, 3].map((i) => a.subarray(i * n, (i + 1) * n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  wasm.adamw(...views(both), n, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
  native.adamw(...views(expected), n, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
  assert.deepEqual(both, expected);
});

test('a kernel error keeps its class and message', () => {
  const C = new Float32Array(4);
  assert.throws(
    () =>
      wasm.gemm(
        false,
        false,
        2,
        2,
        2,
        1,
        new Float32Array(4),
        0,
        2,
        0,
        new Float32Array(4),
        0,
        0,
        2,
        0,
        0,
        C,
        0,
        9,
        0,
        1,
      ),
    (e: unknown) => e instanceof RangeError && /gemm: C needs 11 elements/.test(e.message),
  );
  assert.throws(() => wasm.setNumThreads(3), /started with 2 thread\(s\)/);
});

test('parity suites pass with PEFTJS_BACKEND=wasm', { timeout: 10 * 60_000 }, () => {
  // A representative part (kernels, every base model, the LoRA fixtures); `npm run test:wasm` runs
  // all of test/models and test/peft (about 6 minutes on one busy core: too long for `npm test`).
  const suites = [
    'test/tensor/matmul.test.ts',
    'test/tensor/nn-ops.test.ts',
    'test/models/base-models.test.ts',
    'test/peft/lora.test.ts',
  ];
  // Without NODE_TEST_CONTEXT the child reports in TAP on its stdout instead of to this runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...suites], {
    env: { ...env, PEFTJS_BACKEND: 'wasm' },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stdout.slice(-4000) + run.stderr.slice(-2000));
  assert.match(run.stdout, /# fail 0/);
});

test('ensureFits refuses what the 4 GiB memory cannot hold, naming its size and the limit', async () => {
  const { ensureFits, WasmMemoryLimitError } = await import('../../src/tensor/native/wasm/backend.js');
  ensureFits(2 ** 30);
  assert.throws(
    () => ensureFits(5 * 2 ** 30, 'model.safetensors'),
    (e: unknown) =>
      e instanceof WasmMemoryLimitError && /model.safetensors needs 5.00 GiB .* at most 4 GiB/.test(e.message),
  );
});
