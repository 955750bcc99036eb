// Recording a job's completion in the queue: once, and only by the worker that holds the job's lock.
// BullMQ's moveToFinished script checks the lock token and that the job is active in one atomic
// step, so of two workers that both trained a job to its end (the first one's lock lapsed while it
// still trained, and the stalled check gave the job to the second), only the holder's completion is
// recorded. The other's is refused and logged, never counted; a second completion by the holder is
// refused the same way (the job is no longer active).
import { ErrorCode, type Job } from 'bullmq';
import type { FromTrainer } from './protocol.js';
import type { WorkerOptions } from './worker.js';

/** BullMQ's answers to a finish by a worker that does not hold the job (any more). */
const NOT_HELD: ReadonlySet<number> = new Set([
  ErrorCode.JobLockNotExist,
  ErrorCode.JobLockMismatch,
  ErrorCode.JobNotInState,
]);

export type Completion = 'completed' | 'refused';

/** Records the completion the training process reported; 'refused' when this worker no longer holds the job. */
export async function recordCompletion(
  job: Job,
  token: string,
  done: Extract<FromTrainer, { type: 'done' }>,
  log: WorkerOptions['log'],
): Promise<Completion> {
  try {
    await job.moveToCompleted(done.result, token, false);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'number' || !NOT_HELD.has(code)) throw error;
    log(
      'job_completion_refused',
      { id: job.id, name: job.name, reason: (error as Error).message },
      `job ${job.id} (${job.name}): trained to its end here, but this worker no longer holds it (its lock lapsed and the queue gave it to another worker, or it ended already); not recorded again`,
    );
    return 'refused';
  }
  const before = done.recordedBefore === true;
  log(
    'job_completed',
    { id: job.id, name: job.name, result: done.result, ...(before ? { recorded_before: true } : {}) },
    `job ${job.id} (${job.name}): completed${before ? ' (its training had finished before; its done record was kept)' : ''}`,
  );
  return 'completed';
}
