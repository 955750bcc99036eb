// Builds the WebAssembly backend (native/src + native/wasm -> build/wasm/peftjs-wasm.{js,wasm}, and a
// single-threaded peftjs-wasm-st.{js,wasm}) with
// Emscripten (emcc; Debian: apt-get install emscripten). Objects are kept in build/wasm/obj and
// rebuilt when their source or a header they include changes. `--dist` also copies the built files
// into dist/wasm/, where the npm package carries them (users never need emcc).
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, statSync, copyFileSync, writeFileSync } = require('node:fs');
const { join, basename } = require('node:path');
const { cpus } = require('node:os');

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

// Two builds of the same sources. The threaded one needs SharedArrayBuffer (Node, or a page that is
// cross-origin isolated); the single-threaded one (its thread pool never starts a thread: it is
// asked for one) is for pages that are not, where the threaded module cannot even instantiate.
const variants = [
  {
    name: 'peftjs-wasm',
    files: ['peftjs-wasm.js', 'peftjs-wasm.wasm', 'peftjs-wasm.worker.js'],
    compileFlags: threadedCompileFlags,
    linkFlags: [
      ...commonLinkFlags,
      '-pthread',
      // Workers made at start-up (the loader asks for threads - 1): threads are started synchronously
      // from them, so the pool never waits for the event loop.
      "-sPTHREAD_POOL_SIZE=(Module['peftjsWorkers']||0)",
    ],
  },
  {
    name: 'peftjs-wasm-st',
    files: ['peftjs-wasm-st.js', 'peftjs-wasm-st.wasm'],
    compileFlags: threadedCompileFlags.filter((f) => f !== '-pthread'),
    linkFlags: commonLinkFlags,
  },
];

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

async function build(variant) {
  mkdirSync(objDirOf(variant.compileFlags), { recursive: true });
  const objects = [];
  const queue = [...sources];
  const workers = Array.from({ length: Math.max(1, cpus().length) }, async () => {
    while (queue.length > 0) objects.push(await compile(queue.shift(), variant.compileFlags));
  });
  await Promise.all(workers);
  objects.sort();
  const js = join(out, `${variant.name}.js`);
  const newestObject = Math.max(...objects.map((o) => statSync(o).mtimeMs), statSync(join(__dirname, 'build-wasm.cjs')).mtimeMs);
  if (!existsSync(js) || statSync(js).mtimeMs < newestObject) {
    const link = spawnSync('emcc', [...variant.linkFlags, ...objects, '-o', js], { cwd: root, env, stdio: 'inherit' });
    if (link.status !== 0) throw new Error(`emcc failed to link ${variant.name}`);
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
