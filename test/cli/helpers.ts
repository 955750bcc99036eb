// Running the `peft` command as users do: a child process, its output and exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DATA = join(ROOT, 'test/fixtures/data');
export const HF = join(ROOT, 'test/fixtures/hf');
export const RECIPE = join(DATA, 'recipes/gpt2-lora.yaml');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'peftjs-cli-'));
}

/** Where the tests' runs cache tokenised data (not beside the fixtures). */
export const CACHE = mkdtempSync(join(tmpdir(), 'peftjs-cache-'));

/** Starts `peft ...args` (from the TypeScript sources); train and eval runs cache into CACHE. */
export function start(args: readonly string[]): ChildProcess {
  const command = args.find((a) => !a.startsWith('-'));
  const cache = command === 'train' ? ['--set', `data.cache_dir=${CACHE}`] : command === 'eval' ? ['--cache-dir', CACHE] : [];
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args, ...cache], { cwd: ROOT, env: { ...process.env, PEFTJS_NUM_THREADS: '1' } });
}

export function finished(child: ChildProcess): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export function peft(...args: string[]): Promise<RunResult> {
  return finished(start(args));
}

/** The JSON lines of --json output. */
export function events(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
