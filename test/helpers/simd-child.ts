// Kernels chosen at run time by the CPU's instruction set: on an AVX-512 machine a test file checks
// the AVX-512 kernels, and then runs again, whole, in a child process for each lower level (through
// PEFTJS_SIMD), so the AVX2 and portable kernels pass the same checks there too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/tensor/native/index.js';

/**
 * Registers one test per level that reruns the file at `fileUrl` (its import.meta.url) with
 * PEFTJS_SIMD=level; skipped unless this CPU is AVX-512 and this process is not itself such a rerun.
 */
export function rerunAtSimdLevels(fileUrl: string, levels: readonly ('avx2' | 'portable')[]): void {
  for (const level of levels) {
    const skip = process.env.PEFTJS_SIMD !== undefined || native.simdLevel() !== 'avx512';
    test(`the ${level} kernels pass the same checks (PEFTJS_SIMD=${level} in a child process)`, { skip }, () => {
      const env: NodeJS.ProcessEnv = { ...process.env, PEFTJS_SIMD: level };
      delete env.NODE_TEST_CONTEXT; // run as a plain script: its own exit status, not the parent runner's protocol
      const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(fileUrl)], { env, encoding: 'utf8' });
      assert.equal(run.status, 0, `${level} run failed:\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /# pass [1-9]/);
      assert.match(run.stdout, /# fail 0/);
    });
  }
}
