// Runs every test/**/*.test.ts with Node's test runner (Node 20 has no --test globs).
// Extra arguments are substrings that select test files: `npm test -- tensor gemm`; `--backend=wasm`
// runs them on the WebAssembly backend (PEFTJS_BACKEND).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function listTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const backend = process.argv.find((a) => a.startsWith('--backend='))?.slice('--backend='.length);
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--backend='));
const files = listTests('test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: backend ? { ...process.env, PEFTJS_BACKEND: backend } : process.env,
});
process.exit(result.status ?? 1);
