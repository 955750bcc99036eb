// Builds peftjs for web pages into dist/web/ (npm run build:browser; tsc's dist/browser/ is the unbundled twin):
//   peftjs.js          the page's side (ESM): PeftWorker, a promise per request to the engine worker
//   peftjs-worker.js   the engine in a classic Worker (it loads peftjs-wasm.js with importScripts)
//   index.js           the library itself as one ESM file, for pages that run the engine themselves
//   peftjs-wasm.{js,wasm,worker.js}  the WebAssembly kernels (copied from build/wasm or dist/wasm)
//   peftjs-wasm-st.{js,wasm}  the same, single-threaded, for pages that are not cross-origin isolated
//   peftjs-wasm-relaxed{,-st}.*  both again with relaxed SIMD in the GEMM, for browsers that have it
// A module X.ts with a sibling X.browser.ts is replaced by it (where a path means a URL, and the
// kernels are WebAssembly only); the build fails if any node: import is left in an output.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The threaded kernels, and the single-threaded ones for pages that are not cross-origin isolated;
// each plain and with relaxed SIMD (src/tensor/native/wasm/relaxed-simd.ts chooses).
const WASM_FILES = ['peftjs-wasm', 'peftjs-wasm-relaxed'].flatMap((name) => [
  `${name}.js`,
  `${name}.wasm`,
  `${name}.worker.js`,
  `${name}-st.js`,
  `${name}-st.wasm`,
]);

const browserSwaps: esbuild.Plugin = {
  name: 'peftjs-browser-swaps',
  setup(build) {
    // Left only where nothing uses them: marked side-effect free, esbuild drops them with their unused importers' code.
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, external: true, sideEffects: false }));
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const swapped = join(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      return existsSync(swapped) && !args.importer.endsWith('.browser.ts') ? { path: swapped } : undefined;
    });
  },
};

/** Builds into `outDir` (default dist/web); returns the output files' sizes in bytes. */
export async function buildBrowser(outDir = join(root, 'dist', 'web')): Promise<Record<string, number>> {
  await mkdir(outDir, { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    plugins: [browserSwaps],
    inject: [join(root, 'src/browser/node-globals.ts')],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  };
  const builds = await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [join(root, 'src/browser/client.ts')],
      format: 'esm',
      outfile: join(outDir, 'peftjs.js'),
    }),
    esbuild.build({
      ...common,
      entryPoints: [join(root, 'src/browser/worker.ts')],
      format: 'iife',
      outfile: join(outDir, 'peftjs-worker.js'),
    }),
    esbuild.build({
      ...common,
      entryPoints: [join(root, 'src/browser/index.ts')],
      format: 'esm',
      outfile: join(outDir, 'index.js'),
    }),
  ]);
  const sizes: Record<string, number> = {};
  for (const { metafile } of builds) {
    for (const [file, output] of Object.entries(metafile!.outputs)) {
      const nodeImports = output.imports.filter((i) => i.path.startsWith('node:')).map((i) => i.path);
      if (nodeImports.length > 0)
        throw new Error(
          `${file} still imports ${nodeImports.join(', ')}: a module on the browser path needs a .browser.ts twin`,
        );
      sizes[file] = output.bytes;
    }
  }
  const wasmDir = [join(root, 'build', 'wasm'), join(root, 'dist', 'wasm')].find((d) =>
    WASM_FILES.every((f) => existsSync(join(d, f))),
  );
  if (wasmDir === undefined)
    throw new Error(
      `the WebAssembly kernels (${WASM_FILES.join(', ')}) are missing from build/wasm and dist/wasm; run \`npm run build:wasm\` first`,
    );
  for (const file of WASM_FILES) await copyFile(join(wasmDir, file), join(outDir, file));
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await buildBrowser(process.argv[2]));
}
