// A Communicator joins the processes (ranks) of one data-parallel job: rank and size, an in-place
// sum all-reduce, a broadcast from one rank, a barrier. LocalCommunicator is the job of one
// process; MpiCommunicator (mpi.ts) runs over MPI; NCCL can join later behind the same interface.

/** The buffers a sum all-reduce takes. */
export type ReduceBuffer = Float32Array | Float64Array | Int32Array;

export interface Communicator {
  /** This process's index in the job, 0 .. size - 1. */
  readonly rank: number;
  readonly size: number;
  /** Every rank's buffer becomes the element-wise sum over the ranks (in place). */
  allReduceSum(buffer: ReduceBuffer): Promise<void>;
  /** Every rank's buffer becomes `root`'s bytes. */
  broadcast(buffer: ArrayBufferView, root?: number): Promise<void>;
  barrier(): Promise<void>;
  /** Ends the job normally (MPI_Finalize); no collective may follow. */
  close(): void;
  /** Ends every rank of the job now with `exitCode` (a rank that fails). */
  abort(exitCode: number): never;
}

/** The job of one process: collectives leave buffers as they are. */
export class LocalCommunicator implements Communicator {
  readonly rank = 0;
  readonly size = 1;

  async allReduceSum(_buffer: ReduceBuffer): Promise<void> {}
  async broadcast(_buffer: ArrayBufferView, _root?: number): Promise<void> {}
  async barrier(): Promise<void> {}
  close(): void {}
  abort(exitCode: number): never {
    process.exit(exitCode);
  }
}
