// Prints the compile (--cflags) or link (--libs) flags of the MPI installed here, for binding.gyp's
// optional peftjs_mpi target; prints nothing when there is no MPI (then the target is left out and
// everything else builds as before). Open MPI's wrapper (mpicc --showme:*), then MPICH's
// (mpicc -compile_info / -link_info), then pkg-config (ompi, mpich).
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * MPICH's -compile_info / -link_info print a whole command line (Debian's mpicc.mpich prints the same
 * one for both, with -L, -l and -Wl): keep the compiler's (-I, -D) or the linker's (-L, -l, -Wl) flags.
 */
function flagsOnly(line, kind) {
  const keep = kind === 'compile' ? /^-[ID]|^-pthread$/ : /^-[LlW]|^-pthread$/;
  return line
    .split(/\s+/)
    .slice(1)
    .filter((w) => keep.test(w))
    .join(' ');
}

function find() {
  const openmpi = [run('mpicc', ['--showme:compile']), run('mpicc', ['--showme:link'])];
  if (openmpi[0] !== null && openmpi[1] !== null) return { cflags: openmpi[0], libs: openmpi[1] };
  const mpich = [run('mpicc', ['-compile_info']), run('mpicc', ['-link_info'])];
  if (mpich[0] !== null && mpich[1] !== null) return { cflags: flagsOnly(mpich[0], 'compile'), libs: flagsOnly(mpich[1], 'link') };
  for (const pkg of ['ompi', 'mpich', 'mpi']) {
    const cflags = run('pkg-config', ['--cflags', pkg]);
    const libs = run('pkg-config', ['--libs', pkg]);
    if (cflags !== null && libs !== null) return { cflags, libs };
  }
  return null;
}

/** True when mpi.h is in one of the -I folders (or the compiler's default path, when none is named). */
function hasHeader(cflags) {
  const dirs = cflags
    .split(/\s+/)
    .filter((w) => w.startsWith('-I'))
    .map((w) => w.slice(2));
  return (dirs.length === 0 ? ['/usr/include', '/usr/local/include'] : dirs).some((d) => existsSync(join(d, 'mpi.h')));
}

const found = process.env.PEFTJS_NO_MPI ? null : find();
if (found !== null && hasHeader(found.cflags)) {
  const which = process.argv[2];
  if (which === '--cflags') console.log(found.cflags);
  else if (which === '--libs') {
    // The library folders go in the addon's run path too, so it loads without LD_LIBRARY_PATH.
    const rpath = found.libs
      .split(/\s+/)
      .filter((w) => w.startsWith('-L'))
      .map((w) => `-Wl,-rpath,${w.slice(2)}`);
    console.log([found.libs, ...rpath].join(' '));
  } else console.log('1');
}
