// `mpirun -np N peft train recipe.yaml` (or srun): one run on N ranks. Rank 0 prepares the output
// folder and writes everything; every rank trains its shard (trainRecipe with a communicator). A
// rank that fails prints why and aborts the job (MPI_Abort), so no rank waits on a dead peer; the
// checkpoints written before stay whole (they are renamed into place complete).
import { Writable } from 'node:stream';
import { MpiCommunicator } from '../../train/distributed/index.js';
import { exitCodeOf } from '../exit-codes.js';
import { Progress } from '../progress.js';
import type { Recipe } from '../recipe/schema.js';
import { prepareOutput, trainRecipe, type TrainCommandOptions } from './train.js';

/** Rank 0's summary; null on the other ranks (they print nothing). */
export async function trainParallel(
  recipe: Recipe,
  recipePath: string,
  options: TrainCommandOptions,
): Promise<Record<string, unknown> | null> {
  const comm = new MpiCommunicator();
  try {
    if (comm.rank === 0) await prepareOutput(recipe.output, options);
    await comm.barrier();
    const silent = new Progress('lines', new Writable({ write: (_chunk, _encoding, done) => done() }));
    const summary = await trainRecipe(recipe, recipePath, {
      ...options,
      communicator: comm,
      progress: comm.rank === 0 ? options.progress : silent,
    });
    await comm.barrier();
    comm.close();
    return comm.rank === 0 ? { ...summary, ranks: comm.size } : null;
  } catch (error) {
    process.stderr.write(
      `peft: error: rank ${comm.rank} of ${comm.size}: ${(error as Error).message}; stopping every rank\n`,
    );
    return comm.abort(exitCodeOf(error));
  }
}
