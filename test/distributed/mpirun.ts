// Runs a script on N ranks with mpirun on loopback, for the distributed tests (bounded in time).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Why the distributed tests cannot run here, or null when mpirun and the MPI addon are present. */
export function mpiUnavailable(): string | null {
  if (spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0)
    return 'mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)';
  if (spawnSync('node', ['-e', `require('node:fs').accessSync('${ROOT}build/Release/peftjs_mpi.node')`]).status !== 0) {
    return 'the MPI addon is not built (npm run build:native with mpi.h present)';
  }
  return null;
}

/** A process's children (its threads' children: /proc lists them per thread). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/**
 * The process ids of ranks 0 .. np - 1 among the launcher's descendants (mpirun's children; MPICH's
 * mpiexec starts them under a proxy), read from their environment.
 */
export function rankPids(mpirunPid: number | undefined, np: number): number[] {
  const pids: number[] = [];
  const seen: number[] = [];
  for (let queue = childrenOf(mpirunPid!); queue.length > 0; ) {
    const pid = queue.shift()!;
    seen.push(pid);
    const rank = /(?:^|\0)(?:OMPI_COMM_WORLD_RANK|PMI_RANK)=(\d+)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1];
    if (rank !== undefined) pids[Number(rank)] = pid;
    else queue.push(...childrenOf(pid));
  }
  if (pids.filter((p) => p !== undefined).length !== np)
    throw new Error(`found ${pids.length} of ${np} ranks among the launcher's processes ${seen.join(' ')}`);
  return pids;
}

export interface RankOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The launcher of np ranks: Open MPI's mpirun, or the command PEFTJS_TEST_MPIEXEC names (e.g.
 * mpiexec.mpich, with the MPI addon built against MPICH), which takes the flags every MPI's mpiexec does.
 */
function launcher(np: number): string[] {
  const mpiexec = process.env.PEFTJS_TEST_MPIEXEC;
  if (mpiexec) return [mpiexec, '-n', String(np)];
  return ['mpirun', '--oversubscribe', '--bind-to', 'none', '-np', String(np)];
}

/** `mpirun -np <np> node --import tsx <args>` in the package root; killed after `timeoutMs`. */
export function mpirun(
  np: number,
  args: string[],
  { timeoutMs = 120_000, env = {} }: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RankOutput> & { pid: number | undefined } {
  const [command, ...flags] = launcher(np);
  const child = spawn(
    command!,
    [...flags, 'node', '--import', 'tsx', ...args],
    {
      cwd: ROOT,
      // Open MPI refuses root unless told; loopback only.
      env: {
        ...process.env,
        OMPI_ALLOW_RUN_AS_ROOT: '1',
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
        OMPI_MCA_btl_tcp_if_include: 'lo',
        OMPI_MCA_oob_tcp_if_include: 'lo',
        ...env,
      },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RankOutput>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return Object.assign(done, { pid: child.pid });
}
