// The communicator of this process: MPI when a launcher started several ranks, else local.
import { LocalCommunicator, type Communicator } from './communicator.js';
import { detectLaunch } from './launch.js';
import { MpiCommunicator, type MpiOptions } from './mpi.js';

export function openCommunicator(options: MpiOptions = {}, env: NodeJS.ProcessEnv = process.env): Communicator {
  return detectLaunch(env).size > 1 ? new MpiCommunicator(options) : new LocalCommunicator();
}
