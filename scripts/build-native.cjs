// Builds the native addon (native/ -> build/Release/peftjs.node) with node-gyp from the sources
// in this package; nothing is downloaded. Fails with a message naming what is missing; during
// `npm install` a failure is not fatal: peftjs then runs on its WebAssembly backend (dist/wasm).
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join, dirname } = require('node:path');

const installing = process.env.npm_lifecycle_event === 'install';
// Ends the build; at install the package stays usable on WebAssembly, so npm install succeeds.
function fail(status) {
  if (installing) {
    console.error('peftjs: the native addon was not built; peftjs will run on its WebAssembly backend (slower).');
    process.exit(0);
  }
  process.exit(status);
}

function has(cmd, args = ['--version']) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

const missing = [];
if (!has('python3')) missing.push('python3 (node-gyp runs on it)');
if (!has('make')) missing.push('make');
if (!has('g++')) missing.push('g++ (a C++17 compiler)');
if (missing.length > 0) {
  console.error(`peftjs: cannot build the native CPU backend; missing: ${missing.join(', ')}.`);
  console.error('Install them (Debian/Ubuntu: apt-get install python3 make g++) and run npm install again.');
  fail(1);
}

// npm ships node-gyp; use the one on PATH during npm scripts, else npm's own copy.
const npmGyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const [cmd, prefix] = has('node-gyp')
  ? ['node-gyp', []]
  : existsSync(npmGyp)
    ? [process.execPath, [npmGyp]]
    : [null, null];
if (cmd === null) {
  console.error('peftjs: node-gyp was not found (it ships with npm). Install it with: npm install -g node-gyp');
  fail(1);
}
// Build against the headers of the running Node (never download them).
const nodeDir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
  console.error(`peftjs: Node's C headers were not found under ${nodeDir}/include/node.`);
  console.error('Install the headers of your Node version (Debian: apt-get install libnode-dev, or use an official Node build).');
  fail(1);
}
// configure + build rather than rebuild: configure picks up new source files, and build leaves
// unchanged objects (and the previous addon, until the new one is linked) in place.
const gyp = (...args) => spawnSync(cmd, [...prefix, ...args, `--nodedir=${nodeDir}`], { cwd: join(__dirname, '..'), stdio: 'inherit' });
const result = gyp('configure').status === 0 ? gyp('build', '-j', 'max') : { status: 1 };
if (result.status !== 0) {
  console.error('peftjs: building the native addon failed; the compiler output above says why.');
  fail(result.status ?? 1);
}
