// One rank of the collectives test: prints what each collective gave, as JSON.
import { openCommunicator } from '../../src/train/distributed/index.js';

const comm = openCommunicator();
const { rank, size } = comm;
// 3.4 M floats: MPI counts cut into pieces never matter here, but a buffer this size crosses the
// transports' eager limits.
const big = new Float32Array(3_400_000).map((_, i) => rank + (i % 7));
await comm.allReduceSum(big);
const doubles = new Float64Array([rank + 0.5, 1]);
await comm.allReduceSum(doubles);
const ints = new Int32Array([rank, -rank]);
await comm.allReduceSum(ints);
const fromRoot = new Uint8Array(5).fill(rank === 1 ? 9 : rank);
await comm.broadcast(fromRoot, 1);
await comm.barrier();
// The event loop runs while a collective is in flight: a timer fires before the barrier every rank reaches late.
let ticked = false;
setTimeout(() => (ticked = true), 0);
const late = new Promise((r) => setTimeout(r, rank === 0 ? 0 : 300)).then(() => comm.barrier());
await new Promise((r) => setTimeout(r, 50));
const tickedDuring = ticked;
await late;
console.log(
  JSON.stringify({
    rank,
    size,
    big: [big[0], big[6], big[big.length - 1]],
    doubles: [...doubles],
    ints: [...ints],
    fromRoot: [...fromRoot],
    tickedDuring,
    // Set for MPI_Init by MpiCommunicator: a waiting rank yields its core.
    yieldWhenIdle: process.env.OMPI_MCA_mpi_yield_when_idle,
  }),
);
comm.close();
