// The Communicator over MPI: the optional addon build/Release/peftjs_mpi.node (native/mpi/mpi.cc),
// loaded only here, so that peftjs installs and runs without MPI. Collectives run on the addon's
// communication thread and return promises. A collective that has not completed within the
// timeout (a peer that died without its launcher noticing) fails with a DistributedError, so a
// rank never waits forever; abort() then ends the whole job.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Communicator, ReduceBuffer } from './communicator.js';
import { DistributedError } from './errors.js';
import { checkWorld, detectLaunch } from './launch.js';

interface MpiAddon {
  init(): { rank: number; size: number; threadLevel: number; library: string };
  allReduce(buffer: ReduceBuffer): Promise<void>;
  broadcast(buffer: ArrayBufferView, root: number): Promise<void>;
  barrier(): Promise<void>;
  finalize(): void;
  abort(code: number): void;
}

export const INSTALL_MPI =
  'install MPI and rebuild peftjs: apt-get install openmpi-bin libopenmpi-dev (or MPICH: mpich libmpich-dev), then npm run build:native';

function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new DistributedError(`cannot find the peftjs package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return join(dir, 'build', 'Release', 'peftjs_mpi.node');
}

/** Loaded addons by path (MPI is initialised once per process). */
const addons = new Map<string, MpiAddon>();

function loadAddon(file: string): MpiAddon {
  const loaded = addons.get(file);
  if (loaded !== undefined) return loaded;
  if (!existsSync(file))
    throw new DistributedError(
      `this is a distributed run, but the MPI addon ${file} was not built (no mpi.h when peftjs was built); ${INSTALL_MPI}`,
    );
  const module = { exports: {} as MpiAddon };
  // RTLD_GLOBAL as mpi4py loads libmpi: Open MPI builds whose plugins are not linked against
  // libmpi find its symbols only in the global namespace.
  process.dlopen(module, file, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  addons.set(file, module.exports);
  return module.exports;
}

export interface MpiOptions {
  /** Seconds a collective may take before the rank gives up (default PEFTJS_MPI_TIMEOUT, else 600). */
  timeoutSeconds?: number;
  /** The MPI addon file (default: the package's build/Release/peftjs_mpi.node). */
  addon?: string;
}

export class MpiCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  readonly library: string;
  private readonly mpi: MpiAddon;
  private readonly timeoutMs: number;
  private closed = false;

  constructor({ timeoutSeconds = Number(process.env.PEFTJS_MPI_TIMEOUT ?? 600), addon }: MpiOptions = {}) {
    if (!(timeoutSeconds > 0))
      throw new DistributedError(
        `the MPI timeout must be a number of seconds > 0, not ${timeoutSeconds} (PEFTJS_MPI_TIMEOUT)`,
      );
    this.mpi = loadAddon(addon ?? addonPath());
    // Open MPI's ranks busy-poll while they wait in a collective (yielding only when mpirun saw more
    // ranks than cores): a rank waiting for a late peer burns a core that the peer, or anything else
    // on the machine, could use (measured: ~0.1 CPU s per step and rank, bench/data-parallel.ts). The
    // gradients are all-reduced once per step, so the latency a yielding poll adds is nothing beside
    // a step. Read by MPI_Init; a value the user set wins.
    process.env.OMPI_MCA_mpi_yield_when_idle ??= '1';
    const { rank, size, library } = this.mpi.init();
    try {
      checkWorld({ rank, size }, detectLaunch());
    } catch (error) {
      // A world of one (MPI's singleton) has no peer to wait for in MPI_Finalize.
      if (size === 1) this.mpi.finalize();
      throw error;
    }
    this.rank = rank;
    this.size = size;
    this.library = library.trim().split('\n')[0]!;
    this.timeoutMs = timeoutSeconds * 1000;
  }

  allReduceSum(buffer: ReduceBuffer): Promise<void> {
    return this.watch('all-reduce', this.mpi.allReduce(buffer));
  }

  broadcast(buffer: ArrayBufferView, root = 0): Promise<void> {
    if (!(Number.isInteger(root) && root >= 0 && root < this.size))
      throw new DistributedError(`broadcast root ${root} is not a rank of this job (0 .. ${this.size - 1})`);
    return this.watch('broadcast', this.mpi.broadcast(buffer, root));
  }

  barrier(): Promise<void> {
    return this.watch('barrier', this.mpi.barrier());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mpi.finalize();
  }

  abort(exitCode: number): never {
    this.mpi.abort(exitCode);
    process.exit(exitCode); // only reached when MPI was already finalized
  }

  /** The collective's promise, failing with a DistributedError (MPI's own error, or the timeout). */
  private async watch(what: string, done: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DistributedError(
              `rank ${this.rank}: the ${what} did not complete in ${this.timeoutMs / 1000} s: another rank stopped or hangs; the run stops (PEFTJS_MPI_TIMEOUT sets the limit)`,
            ),
          ),
        this.timeoutMs,
      );
      timer.unref();
    });
    try {
      await Promise.race([done, timeout]);
    } catch (error) {
      throw error instanceof DistributedError
        ? error
        : new DistributedError(`rank ${this.rank}: MPI ${what} failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
