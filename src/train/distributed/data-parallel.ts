// Data parallel over a Communicator: every rank starts from rank 0's trainable parameters, and
// before each optimizer step the ranks' gradients (already weighted by their shares of the batch's
// loss items, shard.ts) are summed in one all-reduce of one flat float32 buffer, with the step's
// totals (loss, tokens) and which parameters had a gradient at its end. Every rank then takes the
// same step on the same gradients; only rank 0 writes.
import { keep, Tensor } from '../../tensor/index.js';
import type { Batch } from '../batches.js';
import type { Communicator } from './communicator.js';
import { DistributedError } from './errors.js';
import { shareOf } from './shard.js';

function float32Contiguous(p: Tensor, what: string): void {
  if (p.dtype !== 'float32' || !p.isContiguous())
    throw new DistributedError(`data parallel needs float32, contiguous trainable parameters; ${what} is ${p.dtype}`);
}

export class DataParallel {
  constructor(readonly comm: Communicator) {}

  /** True on the one rank that writes checkpoints, metrics and the report. */
  get writes(): boolean {
    return this.comm.rank === 0;
  }

  /** This rank's share of the job batch's loss (1 for batches that are not rank shards). */
  share(batch: Batch): number {
    return shareOf(batch) ?? 1;
  }

  /** Every rank's parameters become rank 0's (one broadcast of one flat buffer). */
  async broadcastParameters(parameters: readonly Tensor[]): Promise<void> {
    if (this.comm.size === 1) return;
    parameters.forEach((p, i) => float32Contiguous(p, `parameter ${i}`));
    const flat = new Float32Array(parameters.reduce((s, p) => s + p.size, 0));
    let at = 0;
    for (const p of parameters) {
      flat.set((p.buffer as Float32Array).subarray(p.offset, p.offset + p.size), at);
      at += p.size;
    }
    await this.comm.broadcast(flat, 0);
    at = 0;
    for (const p of parameters) {
      (p.buffer as Float32Array).set(flat.subarray(at, at + p.size), p.offset);
      at += p.size;
    }
  }

  /** Sums the ranks' gradients of `parameters` in place, and the ranks' `totals`; returns the summed totals. */
  async reduce(parameters: readonly Tensor[], totals: readonly number[]): Promise<number[]> {
    if (this.comm.size === 1) return [...totals];
    const count = parameters.reduce((s, p) => s + p.size, 0);
    // [gradients | one 0/1 per parameter: had a gradient | totals]
    const flat = new Float32Array(count + parameters.length + totals.length);
    let at = 0;
    parameters.forEach((p, i) => {
      const g = p.grad;
      if (g !== null) {
        float32Contiguous(g, `the gradient of parameter ${i}`);
        flat.set((g.buffer as Float32Array).subarray(g.offset, g.offset + g.size), at);
        flat[count + i] = 1;
      }
      at += p.size;
    });
    flat.set(totals, count + parameters.length);
    await this.comm.allReduceSum(flat);
    at = 0;
    parameters.forEach((p, i) => {
      const summed = flat.subarray(at, at + p.size);
      at += p.size;
      // A parameter no rank gave a gradient keeps none, as in one process (the optimizer skips it).
      if (flat[count + i] === 0) return;
      if (p.grad === null) p.grad = keep(Tensor.fromArray(summed.slice(), p.shape, 'float32'));
      else (p.grad.buffer as Float32Array).set(summed, p.grad.offset);
    });
    return [...flat.subarray(count + parameters.length)];
  }
}
