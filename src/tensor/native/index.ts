// Loads the kernels: the Node-API addon (build/Release/peftjs.node, built by `npm install`) or, when
// PEFTJS_BACKEND=wasm or the addon could not be built, the same kernels in WebAssembly (wasm/).
// Each kernel module declares its functions in a file beside this one.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import v8 from 'node:v8';
import { createWasmBackend, type WasmFactory } from './wasm/backend.js';
import { engineHasRelaxedSimd, wasmScript } from './wasm/relaxed-simd.js';
import type { InfoKernels } from './info.js';
import type { GemmKernels } from './gemm.js';
import type { NnKernels } from './nn.js';
import type { ElementwiseKernels } from './elementwise.js';
import type { ReduceKernels } from './reduce.js';
import type { IndexKernels } from './index-kernels.js';
import type { LinalgKernels } from './linalg.js';
import type { QuantKernels } from './quant.js';
import type { MemoryKernels } from './memory.js';
import type { RandomKernels } from './random.js';
import type { GgmlKernels } from './ggml.js';

export type NativeAddon = InfoKernels &
  GemmKernels &
  NnKernels &
  ElementwiseKernels &
  ReduceKernels &
  IndexKernels &
  LinalgKernels &
  QuantKernels &
  MemoryKernels &
  RandomKernels &
  GgmlKernels;

/** Which kernels run: the Node-API addon or the WebAssembly module, with its SIMD level and threads. */
export interface BackendInfo {
  name: 'native' | 'wasm';
  simd: string;
  threads: number;
}

function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`peftjs: cannot find the package root above ${start}`);
    dir = parent;
  }
  return dir;
}

const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
const addonFile = join(root, 'build', 'Release', 'peftjs.node');
const NATIVE_TOOLS = 'python3, make and g++';

function loadAddon(): NativeAddon {
  if (!existsSync(addonFile)) {
    throw new Error(
      `peftjs: the native backend ${addonFile} is missing. Build it with \`npm run build:native\` ` +
        `(needs ${NATIVE_TOOLS}), or set PEFTJS_BACKEND=wasm.`,
    );
  }
  return createRequire(import.meta.url)(addonFile) as NativeAddon;
}

/**
 * Relaxed SIMD unless PEFTJS_WASM_RELAXED_SIMD=0 (the plain build, whose GEMM results equal the
 * portable kernels' bit for bit). Node 20's V8 (11.3) has relaxed SIMD finished but behind a flag, on
 * by default from V8 11.4 (Node 22); V8 reads wasm feature flags when it validates a module, so
 * setting this one now takes effect, and it only adds instructions to what modules may use.
 */
export function useRelaxedSimd(): boolean {
  if (process.env.PEFTJS_WASM_RELAXED_SIMD === '0') return false;
  if (!engineHasRelaxedSimd()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return engineHasRelaxedSimd();
}

async function loadWasm(): Promise<NativeAddon> {
  const script = wasmScript({ threaded: true, relaxedSimd: useRelaxedSimd() });
  // build/wasm in a checkout (npm run build:wasm), dist/wasm in the npm package.
  const file = [join(root, 'build', 'wasm', script), join(root, 'dist', 'wasm', script)].find((f) => existsSync(f));
  if (file === undefined) {
    throw new Error(
      `peftjs: the WebAssembly backend (${script}) is missing from ${root}/build/wasm and ${root}/dist/wasm; build it with \`npm run build:wasm\` (needs emcc).`,
    );
  }
  const factory = createRequire(import.meta.url)(file) as WasmFactory;
  const env = Number(process.env.PEFTJS_NUM_THREADS);
  return createWasmBackend(factory, {
    threads: env > 0 ? env : availableParallelism(),
    wasmBinary: readFileSync(file.replace(/\.js$/, '.wasm')),
  });
}

async function load(): Promise<{ addon: NativeAddon; name: BackendInfo['name'] }> {
  const wanted = process.env.PEFTJS_BACKEND;
  if (wanted !== undefined && wanted !== '' && wanted !== 'native' && wanted !== 'wasm') {
    throw new Error(`peftjs: PEFTJS_BACKEND=${wanted} is not a backend; use native or wasm (or leave it unset).`);
  }
  if (wanted === 'wasm') return { addon: await loadWasm(), name: 'wasm' };
  if (wanted === 'native' || existsSync(addonFile)) return { addon: loadAddon(), name: 'native' };
  console.warn(
    `peftjs: running on the WebAssembly backend (slower); install ${NATIVE_TOOLS} and run \`npm rebuild peftjs\` for the native one.`,
  );
  return { addon: await loadWasm(), name: 'wasm' };
}

const loaded = await load();

export const native: NativeAddon = loaded.addon;

/** Which backend runs the kernels (PEFTJS_BACKEND=native|wasm chooses), its SIMD level and thread count. */
export function backendInfo(): BackendInfo {
  return { name: loaded.name, simd: native.simdLevel(), threads: native.numThreads() };
}
