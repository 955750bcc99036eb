// Which rank of how many this process is, from the launcher's environment: Open MPI's mpirun
// (OMPI_COMM_WORLD_*), MPICH / Intel MPI (PMI_*), Slurm's srun (SLURM_PROCID / SLURM_NTASKS).
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
  { launcher: 'srun', rank: 'SLURM_PROCID', size: 'SLURM_NTASKS' },
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
