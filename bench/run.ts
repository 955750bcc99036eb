// Runs every benchmark (or those named: `npm run bench -- gemm model`) one after another, each in
// its own process, and writes each one's JSON lines to bench/results/<name>.jsonl as well as stdout.
// Benchmarks need a quiet machine: the records carry load1 so that busy runs can be told apart.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const all = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
const results = join(here, 'results');
mkdirSync(results, { recursive: true });
let failed = false;
for (const name of wanted.length > 0 ? wanted : all) {
  console.error(`# ${name}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(run.stdout);
  writeFileSync(join(results, `${name}.jsonl`), run.stdout);
  if (run.status !== 0) {
    console.error(`# ${name} failed with exit code ${run.status}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
