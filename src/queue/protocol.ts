// The messages between a worker and its training process (Node's IPC channel of a forked child).
import type { JobProgress, QueuedJob } from './job-data.js';

export interface GroupJob extends QueuedJob {
  id: string;
}

/** Worker to training process: `join` offers a job on the group's base to the running group. */
export type ToTrainer =
  | { type: 'train'; jobs: GroupJob[]; stepDelay?: number }
  | { type: 'cancel'; id: string }
  | { type: 'join'; job: GroupJob };

/**
 * Training process to worker: each job ends with exactly one of done, failed or cancelled, or, for a
 * job offered to join, not_joined (the run had ended; the worker puts it back in the queue).
 */
export type FromTrainer =
  | { type: 'progress'; id: string; progress: JobProgress }
  | { type: 'resuming'; id: string; checkpoint: string }
  /** recordedBefore: the job's done record existed already (another training process finished it first). */
  | { type: 'done'; id: string; result: Record<string, unknown>; recordedBefore?: boolean }
  | { type: 'failed'; id: string; message: string }
  | { type: 'cancelled'; id: string; step: number }
  | { type: 'joined'; id: string }
  | { type: 'not_joined'; id: string };
