// Lists the C++ sources of one native build group for binding.gyp:
//   generic  native/src/**/*.cc outside the SIMD folders (built without special flags)
//   avx2     native/src/avx2/*.cc   (built with -mavx2 -mfma -mf16c)
//   avx512   native/src/avx512/*.cc (built with -mavx512f ...)
//   wasm     native/src/wasm/*.cc   (WebAssembly SIMD128, only in the wasm build: scripts/build-wasm.cjs)
// The SIMD groups are only called after a run-time CPU check (native/src/cpu.h).
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const group = process.argv[2];
const simdFolders = ['avx2', 'avx512', 'wasm'];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const base = join(root, 'native', 'src');
const files = walk(base)
  .filter((f) => f.endsWith('.cc'))
  .filter((f) => {
    const top = relative(base, f).split(/[\\/]/)[0];
    return group === 'generic' ? !simdFolders.includes(top) : top === group;
  })
  .map((f) => relative(root, f).split('\\').join('/'))
  .sort();
console.log(files.join(' '));
