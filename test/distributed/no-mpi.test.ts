// Without MPI: the build's detection (scripts/mpi-flags.cjs, which binding.gyp asks whether to build
// the optional peftjs_mpi addon) says "none" when PEFTJS_NO_MPI is set or when the MPI wrapper's
// include folders hold no mpi.h, and a distributed run without the addon is a typed error naming
// what to install. A fake mpicc on an otherwise empty PATH stands in for an MPI without headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DistributedError, MpiCommunicator } from '../../src/train/distributed/index.js';
import { INSTALL_MPI } from '../../src/train/distributed/mpi.js';
import { ROOT, tempDir } from '../cli/helpers.js';

/** What mpi-flags.cjs prints for `which` ('' asks whether MPI is there) under `env`. */
function detect(which: string, env: NodeJS.ProcessEnv): string {
  const args = [join(ROOT, 'scripts/mpi-flags.cjs'), ...(which === '' ? [] : [which])];
  const run = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

/** A PATH holding only an Open MPI-like mpicc whose flags name `include` and `lib`. */
function fakeMpicc(include: string, lib: string): string {
  const bin = join(tempDir(), 'bin');
  mkdirSync(bin);
  const mpicc = join(bin, 'mpicc');
  writeFileSync(
    mpicc,
    `#!/bin/sh\ncase "$1" in --showme:compile) echo "-I${include} -pthread";; --showme:link) echo "-L${lib} -lmpi";; *) exit 1;; esac\n`,
  );
  chmodSync(mpicc, 0o755);
  return bin;
}

test('build detection: PEFTJS_NO_MPI=1, or an MPI without mpi.h, leaves the MPI addon out; with mpi.h it is built', () => {
  const include = join(tempDir(), 'include');
  mkdirSync(include);
  const path = fakeMpicc(include, '/opt/mpi/lib');
  for (const which of ['', '--cflags', '--libs']) {
    assert.equal(detect(which, { PATH: path }), '', `no mpi.h: ${which || 'found?'} prints nothing`);
    assert.equal(detect(which, { ...process.env, PEFTJS_NO_MPI: '1' }), '', `PEFTJS_NO_MPI: ${which || 'found?'}`);
  }
  writeFileSync(join(include, 'mpi.h'), '');
  assert.equal(detect('', { PATH: path }), '1');
  assert.equal(detect('--cflags', { PATH: path }), `-I${include} -pthread`);
  assert.equal(detect('--libs', { PATH: path }), '-L/opt/mpi/lib -lmpi -Wl,-rpath,/opt/mpi/lib');
});

test("MPICH's mpicc (-compile_info / -link_info, one whole command line for both): compile flags to the compiler, link flags to the linker", () => {
  const include = join(tempDir(), 'include');
  mkdirSync(include);
  writeFileSync(join(include, 'mpi.h'), '');
  const bin = join(tempDir(), 'bin');
  mkdirSync(bin);
  // As Debian's mpicc.mpich: an unknown option goes to gcc, which fails.
  const line = `gcc -Wl,-z,relro -I${include} -L/opt/mpich/lib -lmpich`;
  writeFileSync(join(bin, 'mpicc'), `#!/bin/sh\ncase "$1" in -compile_info|-link_info) echo "${line}";; *) exit 1;; esac\n`);
  chmodSync(join(bin, 'mpicc'), 0o755);
  assert.equal(detect('--cflags', { PATH: bin }), `-I${include}`);
  assert.equal(detect('--libs', { PATH: bin }), '-Wl,-z,relro -L/opt/mpich/lib -lmpich -Wl,-rpath,/opt/mpich/lib');
});

test('a distributed run without the MPI addon fails with a DistributedError naming what to install', () => {
  const missing = join(tempDir(), 'build/Release/peftjs_mpi.node');
  assert.throws(
    () => new MpiCommunicator({ addon: missing }),
    (e: Error) =>
      e instanceof DistributedError &&
      e.message.includes(missing) &&
      e.message.includes(INSTALL_MPI) &&
      /apt-get install openmpi-bin libopenmpi-dev/.test(e.message),
  );
});
