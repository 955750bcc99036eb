// Builds the WebAssembly backend (native/src + native/wasm -> build/wasm/peftjs-wasm.{js,wasm}, a
// single-threaded peftjs-wasm-st.{js,wasm}, and both again with relaxed SIMD: peftjs-wasm-relaxed*) with
// Emscripten (emcc; Debian: apt-get install emscripten). Objects are kept in build/wasm/obj and
// rebuilt when their source or a header they include changes. `--dist` also copies the built files
// into dist/wasm/, where the npm package carries them (users never need emcc).
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, rmSync, statSync, copyFileSync, writeFileSync } = require('node:fs');
const { join, basename } = require('node:path');
const { cpus } = require('node:os');
const { Buffer } = require('node:buffer');

const root = join(__dirname, '..');
const out = join(root, 'build', 'wasm');

if (spawnSync('emcc', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('peftjs: emcc was not found; the WebAssembly backend needs Emscripten (Debian: apt-get install emscripten).');
  process.exit(1);
}

const listed = (group) =>
  spawnSync(process.execPath, [join(__dirname, 'list-native-sources.cjs'), group], { cwd: root, encoding: 'utf8' })
    .stdout.trim()
    .split(/\s+/)
    .filter(Boolean);
// The addon's generic sources less its GC-fed tensor memory (JavaScript owns tensor memory here),
// the 128-bit SIMD kernels, and the wasm entry points.
const sources = [
  ...listed('generic').filter((f) => f !== 'native/src/bind_memory.cc'),
  ...listed('wasm'),
  'native/wasm/entry.cc',
];

// emcc's JavaScript optimiser needs acorn: Debian's emscripten package leaves it to node-acorn
// (/usr/share/nodejs), which a Node not from Debian does not search; ours has it through eslint.
const env = { ...process.env, NODE_PATH: ['/usr/share/nodejs', join(root, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(':') };

// -fexceptions (JavaScript-based unwinding), not -fwasm-exceptions: with -pthread, Emscripten 3.1.6's
// wasm exceptions match only catch (...), so the bindings' typed catches would miss.
const threadedCompileFlags = ['-O3', '-std=c++17', '-fexceptions', '-fno-math-errno', '-msimd128', '-pthread', '-Wall', '-Wno-unused-function', '-Inative/wasm', '-Inative/src'];
const commonLinkFlags = [
  '--bind', '-O3', '-fexceptions', '-msimd128',
  '-sMODULARIZE=1', '-sEXPORT_NAME=createPeftjsWasm', '-sENVIRONMENT=node,web,worker',
  '-sALLOW_MEMORY_GROWTH=1', '-sINITIAL_MEMORY=64MB', '-sMAXIMUM_MEMORY=4GB',
  // A library must leave the process's error handlers alone.
  '-sNODEJS_CATCH_EXIT=0', '-sNODEJS_CATCH_REJECTION=0',
  '-sEXPORTED_FUNCTIONS=_malloc,_free', '-sEXPORTED_RUNTIME_METHODS=wasmMemory,ENV',
];

// Four builds of the same sources. The threaded ones need SharedArrayBuffer (Node, or a page that is
// cross-origin isolated); the single-threaded ones (their thread pool never starts a thread: it is
// asked for one) are for pages that are not, where a threaded module cannot even instantiate. Each
// comes plain (SIMD128) and with relaxed SIMD in the GEMM micro-kernel (-relaxed), for engines that
// validate it (src/tensor/native/wasm/relaxed-simd.ts chooses).
const threaded = {
  name: 'peftjs-wasm',
  worker: true,
  compileFlags: threadedCompileFlags,
  linkFlags: [
    ...commonLinkFlags,
    '-pthread',
    // Workers made at start-up (the loader asks for threads - 1): threads are started synchronously
    // from them, so the pool never waits for the event loop.
    "-sPTHREAD_POOL_SIZE=(Module['peftjsWorkers']||0)",
  ],
};
const singleThreaded = {
  name: 'peftjs-wasm-st',
  worker: false,
  compileFlags: threadedCompileFlags.filter((f) => f !== '-pthread'),
  linkFlags: commonLinkFlags,
};
// Only these sources differ in a relaxed build: the GEMM micro-kernel and the SIMD level it reports.
const relaxedSources = ['native/src/wasm/gemm_wasm128.cc', 'native/src/cpu.cc'];
const relaxedOf = (variant) => ({
  ...variant,
  name: variant.name.replace('peftjs-wasm', 'peftjs-wasm-relaxed'),
  relaxed: true,
  linkFlags: [...variant.linkFlags, '-mrelaxed-simd'],
});
const variants = [threaded, singleThreaded, relaxedOf(threaded), relaxedOf(singleThreaded)].map((v) => ({
  ...v,
  files: [`${v.name}.js`, `${v.name}.wasm`, ...(v.worker ? [`${v.name}.worker.js`] : [])],
}));

// Objects live in a folder named by the compile flags, so changing a flag rebuilds them all.
const objDirOf = (compileFlags) =>
  join(out, `obj-${require('node:crypto').createHash('sha256').update(compileFlags.join(' ')).digest('hex').slice(0, 12)}`);

function newestInput(obj, source) {
  const deps = obj.replace(/\.o$/, '.d');
  if (!existsSync(obj) || !existsSync(deps)) return Infinity;
  const files = readFileSync(deps, 'utf8').replace(/\\\n/g, ' ').split(':').slice(1).join(':').split(/\s+/).filter(Boolean);
  return Math.max(...[source, ...files].map((f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : Infinity)));
}

function compile(source, compileFlags) {
  const obj = join(objDirOf(compileFlags), source.replace(/[\\/]/g, '__').replace(/\.cc$/, '.o'));
  if (existsSync(obj) && newestInput(obj, source) <= statSync(obj).mtimeMs) return Promise.resolve(obj);
  return new Promise((resolve, reject) => {
    const child = require('node:child_process').spawn('emcc', [...compileFlags, '-MMD', '-c', source, '-o', obj], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve(obj) : reject(new Error(`emcc failed on ${source}`))));
  });
}

// Clang 14 knows relaxed SIMD's multiply-add only as the proposal's prototype f32x4.fma (0xfd 0xaf
// 0x01); engines take the standard f32x4.relaxed_madd (0xfd 0x85 0x02, a * b + c; the kernel passes
// its operands in that order). Both opcodes are three bytes, so the linked module is renumbered in
// place. The byte pattern could also occur inside other bytes (an immediate, data), so the patch goes
// ahead only where binaryen's disassembler counts as many fma instructions as there are patterns.
const PROTOTYPE_FMA = Buffer.from([0xfd, 0xaf, 0x01]);
const RELAXED_MADD = Buffer.from([0xfd, 0x85, 0x02]);

function renumberRelaxedMadd(wasmFile) {
  const bytes = readFileSync(wasmFile);
  const at = [];
  for (let i = bytes.indexOf(PROTOTYPE_FMA); i >= 0; i = bytes.indexOf(PROTOTYPE_FMA, i + 1)) at.push(i);
  const text = spawnSync('wasm-dis', ['--enable-simd', '--enable-relaxed-simd', '--enable-threads', '--enable-bulk-memory', '--enable-mutable-globals', '--enable-sign-ext', wasmFile], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (text.status !== 0) throw new Error(`wasm-dis could not read ${wasmFile}: ${text.stderr}`);
  const instructions = (text.stdout.match(/f32x4\.relaxed_fma\b/g) ?? []).length;
  if (instructions === 0 || instructions !== at.length) {
    throw new Error(`${wasmFile}: ${at.length} f32x4.fma byte patterns but ${instructions} fma instructions; cannot renumber them safely`);
  }
  for (const i of at) RELAXED_MADD.copy(bytes, i);
  writeFileSync(wasmFile, bytes);
}

async function build(variant) {
  const relaxedFlags = [...variant.compileFlags, '-mrelaxed-simd'];
  for (const flags of [variant.compileFlags, relaxedFlags]) mkdirSync(objDirOf(flags), { recursive: true });
  const objects = [];
  const queue = [...sources];
  const workers = Array.from({ length: Math.max(1, cpus().length) }, async () => {
    while (queue.length > 0) {
      const source = queue.shift();
      objects.push(await compile(source, variant.relaxed && relaxedSources.includes(source) ? relaxedFlags : variant.compileFlags));
    }
  });
  await Promise.all(workers);
  objects.sort();
  const js = join(out, `${variant.name}.js`);
  const newestObject = Math.max(...objects.map((o) => statSync(o).mtimeMs), statSync(join(__dirname, 'build-wasm.cjs')).mtimeMs);
  if (!existsSync(js) || statSync(js).mtimeMs < newestObject) {
    const link = spawnSync('emcc', [...variant.linkFlags, ...objects, '-o', js], { cwd: root, env, stdio: 'inherit' });
    if (link.status !== 0) throw new Error(`emcc failed to link ${variant.name}`);
    if (variant.relaxed) {
      try {
        renumberRelaxedMadd(join(out, `${variant.name}.wasm`));
      } catch (e) {
        for (const f of variant.files) rmSync(join(out, f), { force: true }); // no half-made build stays
        throw e;
      }
    }
  }
}

async function main() {
  for (const variant of variants) await build(variant);
  // Emscripten's glue is CommonJS, inside a package of ES modules.
  writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
  if (process.argv.includes('--dist')) {
    const dist = join(root, 'dist', 'wasm');
    mkdirSync(dist, { recursive: true });
    for (const f of [...variants.flatMap((v) => v.files), 'package.json']) copyFileSync(join(out, f), join(dist, basename(f)));
  }
}

main().catch((e) => {
  console.error(`peftjs: building the WebAssembly backend failed: ${e.message}`);
  process.exit(1);
});
