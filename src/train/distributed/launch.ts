// Which rank of how many this process is, from the launcher's environment: Open MPI's mpirun
// (OMPI_COMM_WORLD_*), MPICH / Intel MPI (PMI_*), Slurm's srun (SLURM_PROCID /
// SLURM_STEP_NUM_TASKS). Slurm's step variables, not SLURM_NTASKS: a batch script (sbatch
// --ntasks=4) has SLURM_PROCID=0 and SLURM_NTASKS=4 too, and a `peft train` it runs directly is one
// process, while only the tasks srun starts have a step (SLURM_STEP_NUM_TASKS: the step's tasks).
import { DistributedError } from './errors.js';

export interface Launch {
  rank: number;
  size: number;
  /** The launcher that set the variables, or null when none did (one process). */
  launcher: 'mpirun' | 'pmi' | 'srun' | null;
}

const LAUNCHERS = [
  { launcher: 'mpirun', rank: 'OMPI_COMM_WORLD_RANK', size: 'OMPI_COMM_WORLD_SIZE' },
  { launcher: 'pmi', rank: 'PMI_RANK', size: 'PMI_SIZE' },
  { launcher: 'srun', rank: 'SLURM_PROCID', size: 'SLURM_STEP_NUM_TASKS' },
] as const;

export function detectLaunch(env: NodeJS.ProcessEnv = process.env): Launch {
  for (const { launcher, rank, size } of LAUNCHERS) {
    if (env[rank] === undefined || env[size] === undefined) continue;
    const r = Number(env[rank]);
    const s = Number(env[size]);
    if (!(Number.isInteger(s) && s >= 1 && Number.isInteger(r) && r >= 0 && r < s)) {
      throw new DistributedError(
        `${rank}=${env[rank]} and ${size}=${env[size]} are not a rank and a size (0 <= rank < size); check the launcher's environment`,
      );
    }
    return { rank: r, size: s, launcher };
  }
  return { rank: 0, size: 1, launcher: null };
}

/** How each launcher hands MPI its ranks, for the error when MPI did not get them. */
const HOW: Record<NonNullable<Launch['launcher']>, string> = {
  mpirun: "run the MPI library this peftjs was built against (its mpirun), or rebuild peftjs against the mpirun's MPI",
  pmi: "run the MPI library this peftjs was built against (its mpiexec), or rebuild peftjs against the launcher's MPI",
  srun: 'srun passes the ranks to MPI through PMI: srun --mpi=pmix for Open MPI, --mpi=pmi2 for MPICH (srun --mpi=list shows what this Slurm has), or start the ranks with mpirun inside the allocation',
};

/**
 * Refuses an MPI world that is not the launcher's: MPI started as one process of its own
 * (singleton) in each of the launcher's tasks, so every task would train alone as rank 0 and write
 * the same output folder.
 */
export function checkWorld(world: { rank: number; size: number }, launch: Launch): void {
  if (launch.launcher === null || (world.rank === launch.rank && world.size === launch.size)) return;
  throw new DistributedError(
    `the launcher (${launch.launcher}) started this process as rank ${launch.rank} of ${launch.size}, but MPI sees rank ${world.rank} of ${world.size}: MPI did not get the launcher's ranks; ${HOW[launch.launcher]}`,
  );
}
