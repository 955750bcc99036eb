// Data-parallel training: one job over several processes (mpirun, srun).
export { LocalCommunicator, type Communicator, type ReduceBuffer } from './communicator.js';
export { MpiCommunicator, INSTALL_MPI, type MpiOptions } from './mpi.js';
export { checkWorld, detectLaunch, type Launch } from './launch.js';
export { openCommunicator } from './open.js';
export { DistributedError } from './errors.js';
export { DataParallel } from './data-parallel.js';
export { rankShards, shareOf, isEmptyShard, type ShardOptions } from './shard.js';
export { lossItemCounter, type ItemCounter } from './loss-items.js';
