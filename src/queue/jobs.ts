// `peft jobs`: the queue's jobs with their states and progress, and cancelling one. A waiting job
// is removed; a running one is marked in Redis (cancelKey), and its worker stops it at the next
// step, keeping its checkpoints (the job then fails with "cancelled at step N").
import type { Job } from 'bullmq';
import { connectQueue, QueueError, type QueueConnection } from './connection.js';
import type { JobProgress, QueuedJob } from './job-data.js';

/** The Redis hash of running jobs' ids whose cancellation was asked for (a key of the queue's). */
export const cancelKey = (connection: Pick<QueueConnection, 'queue'>) => connection.queue.toKey('peftjs-cancel');

/** The reason a cancelled job fails with. */
export const CANCELLED = 'cancelled';

export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'cancelled' | 'unknown';

export interface JobRow {
  id: string;
  name: string;
  state: JobState;
  step?: number;
  maxSteps?: number;
  output: string;
  /** Why a failed job failed. */
  reason?: string;
  /** Times a dead worker's job went back to the queue. */
  stalled: number;
}

// In the order a job moves through them: the lists are read one after another, not atomically, so a
// job that moves on between two reads is seen in both (never in neither), and the later read wins.
const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;

function row(job: Job, state: string): JobRow {
  const progress = (typeof job.progress === 'object' ? job.progress : {}) as Partial<JobProgress>;
  const failed = state === 'failed';
  const cancelled = failed && (job.failedReason ?? '').startsWith(CANCELLED);
  return {
    id: job.id!,
    name: job.name,
    state: cancelled ? 'cancelled' : state === 'prioritized' ? 'waiting' : (state as JobState),
    ...(progress.step !== undefined ? { step: progress.step, maxSteps: progress.maxSteps } : {}),
    output: (job.data as QueuedJob).recipe.output,
    ...(failed ? { reason: job.failedReason } : {}),
    stalled: job.stalledCounter ?? 0,
  };
}

/** One state's list of jobs, as read from the queue. */
export type StateRead = readonly [state: string, jobs: readonly Job[]];

/** One row per job, oldest first, from lists read in STATES order: a job seen twice keeps its later state. */
export function rowsOf(reads: readonly StateRead[]): JobRow[] {
  const byId = new Map<string, JobRow>();
  for (const [state, jobs] of reads) for (const job of jobs) byId.set(job.id!, row(job, state));
  return [...byId.values()].sort((a, b) => Number(a.id) - Number(b.id) || a.id.localeCompare(b.id));
}

/** Every job in the queue, oldest first. */
export async function listJobs(url: string): Promise<JobRow[]> {
  const connection = await connectQueue(url);
  try {
    const reads: StateRead[] = [];
    for (const state of STATES) reads.push([state, await connection.queue.getJobs([state])]);
    return rowsOf(reads);
  } finally {
    await connection.close();
  }
}

/** Cancels job `id`: removed when it waits, stopped at its next step when it runs. */
export async function cancelJob(url: string, id: string): Promise<'removed' | 'stopping'> {
  const connection = await connectQueue(url);
  try {
    const job = await connection.queue.getJob(id);
    if (job === undefined)
      throw new QueueError(`no job ${id} in the queue at ${url}; \`peft jobs --queue ${url}\` lists them`);
    const state = await job.getState();
    if (state === 'completed' || state === 'failed')
      throw new QueueError(
        `job ${id} has ${state === 'completed' ? 'completed' : 'ended'} already; only waiting and running jobs can be cancelled`,
      );
    if (state !== 'active') {
      // Removal fails when a worker has just taken the job (it holds the job's lock): then it is stopped as a running one.
      const removed = await job.remove().then(
        () => true,
        () => false,
      );
      if (removed) return 'removed';
    }
    await connection.client.hset(cancelKey(connection), { [id]: Date.now() });
    return 'stopping';
  } finally {
    await connection.close();
  }
}
