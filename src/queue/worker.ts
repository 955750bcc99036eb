// `peft worker`: takes jobs from the queue and trains them in a forked training process
// (train-process.ts), several queued jobs on the same base together (up to `concurrency`). The
// worker's own event loop only talks to Redis: it renews the jobs' locks, forwards cancellations
// and progress, and records each job's end. BullMQ's manual processing (getNextJob, extendLock,
// moveToCompleted / moveToFailed) with its stalled-job check: a worker that dies stops renewing,
// and after `lockDuration` its jobs go back to the queue, where another worker resumes them from
// their last checkpoints. A job's completion is recorded once (completion.ts): moveToCompleted needs
// the job's lock, so a worker that lost it cannot complete it a second time, and its training
// process's done record is created only by the first to finish (train-group.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type Job } from 'bullmq';
import { QUEUE_NAME, type QueueConnection } from './connection.js';
import { sharedBaseKey, type QueuedJob } from './job-data.js';
import { recordCompletion } from './completion.js';
import { CANCELLED, cancelKey } from './jobs.js';
import type { FromTrainer, ToTrainer } from './protocol.js';

/** The training process's entry: train-process.ts beside this file (train-process.js once built). */
const here = fileURLToPath(import.meta.url);
const TRAINER = join(dirname(here), `train-process${extname(here)}`);

/** How many times a job may go back to the queue after its worker died before it fails. */
const MAX_STALLED = 5;

export interface WorkerOptions {
  /** Most jobs trained together (on one base). */
  concurrency: number;
  /** Milliseconds a job's lock lasts without renewal: how soon a dead worker's jobs go back to the queue. */
  lockDuration: number;
  /** Milliseconds to wait after each step (tests). */
  stepDelay?: number;
  /** Reports an event: a job taken, completed, failed, cancelled; a warning. */
  log: (event: string, fields: Record<string, unknown>, human: string) => void;
}

/** A job this worker holds the lock of. */
interface Held {
  job: Job<QueuedJob>;
  token: string;
  /** A cancellation was forwarded to the training process. */
  cancelling: boolean;
  /** Offered to the running group, not yet taken in: if the group ends first, it goes back to the queue. */
  joining?: boolean;
}

/** What a try to take one more job on a base found. */
type Taken = Held | 'none' | 'other-base';

/**
 * Takes queued jobs on a running group's base into it, one poll at a time. A job on another base at
 * the head of the queue ends the joining for this group: that job goes next, and later same-base
 * jobs do not jump it.
 */
class Joins {
  private polling: Promise<void> = Promise.resolve();
  private busy = false;
  private open: boolean;

  constructor(
    private readonly base: string | null,
    private readonly take: (base: string) => Promise<'took' | Exclude<Taken, Held>>,
    private readonly warn: (error: unknown) => void,
  ) {
    this.open = base !== null;
  }

  poll(): void {
    if (!this.open || this.busy) return;
    this.busy = true;
    this.polling = (async () => {
      try {
        for (let taken = 'took'; this.open && taken === 'took';) {
          taken = await this.take(this.base!);
          if (taken === 'other-base') this.open = false;
        }
      } catch (error) {
        // Redis or the training process went away: the next poll tries again; a poll never fails the worker.
        this.warn(error);
      } finally {
        this.busy = false;
      }
    })();
  }

  /** Waits for a poll in flight, and takes no more jobs. */
  async idle(): Promise<void> {
    this.open = false;
    await this.polling;
  }
}

export class QueueWorker {
  private readonly worker: Worker;
  private readonly id = randomUUID().slice(0, 8);
  private tokens = 0;
  private stopping = false;
  private child: ChildProcess | undefined;

  constructor(
    private readonly connection: QueueConnection,
    private readonly options: WorkerOptions,
  ) {
    this.worker = new Worker(QUEUE_NAME, null, {
      connection: connection.client as never,
      autorun: false,
      lockDuration: options.lockDuration,
      stalledInterval: options.lockDuration,
      maxStalledCount: MAX_STALLED,
      drainDelay: 1,
    });
  }

  /** Takes and trains jobs until stop(). */
  async run(): Promise<void> {
    void this.worker.startStalledCheckTimer();
    while (!this.stopping) {
      const group = await this.takeGroup();
      if (group.length > 0) await this.train(group);
    }
    await this.worker.close();
  }

  /** Stops taking jobs; the jobs in training go back to the queue (to be resumed from their checkpoints), then run() returns. */
  stop(): void {
    this.stopping = true;
    this.child?.kill('SIGTERM');
  }

  private token(): string {
    return `${this.id}:${++this.tokens}`;
  }

  /** The next job, and after it the queued jobs on the same base (up to concurrency). */
  private async takeGroup(): Promise<Held[]> {
    const token = this.token();
    const first = (await this.worker.getNextJob(token)) as Job<QueuedJob> | undefined;
    if (first === undefined) return [];
    const held: Held[] = [{ job: first, token, cancelling: false }];
    if (this.stopping) {
      await first.moveToWait(token);
      return [];
    }
    const base = sharedBaseKey(first.data.recipe);
    while (base !== null && held.length < this.options.concurrency) {
      const next = await this.takeOnBase(base);
      if (typeof next === 'string') break;
      held.push(next);
    }
    return held;
  }

  /** The next queued job when it trains on `base`; one on another base is put back at the head of the queue. */
  private async takeOnBase(base: string): Promise<Taken> {
    const token = this.token();
    const next = (await this.worker.getNextJob(token, { block: false })) as Job<QueuedJob> | undefined;
    if (next === undefined) return 'none';
    if (sharedBaseKey(next.data.recipe) !== base) {
      await next.moveToWait(token);
      return 'other-base';
    }
    return { job: next, token, cancelling: false };
  }

  private async train(group: Held[]): Promise<void> {
    const open = new Map(group.map((h) => [h.job.id!, h]));
    for (const { job } of group) {
      this.options.log(
        'job_started',
        { id: job.id, name: job.name, together: group.length },
        `job ${job.id} (${job.name}): training${group.length > 1 ? ` with ${group.length - 1} other job(s) on the same base` : ''}`,
      );
    }
    const child = fork(TRAINER, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    // Messages are handled one after another, in order.
    let handled: Promise<void> = Promise.resolve();
    child.on('message', (message: FromTrainer) => {
      handled = handled.then(() => this.handle(message, open));
    });
    let running = true;
    const exited = new Promise<string>((done) => child.on('exit', (code, signal) => done(signal ?? `code ${code}`)));
    const message: ToTrainer = {
      type: 'train',
      jobs: group.map((h) => ({ id: h.job.id!, ...h.job.data })),
      stepDelay: this.options.stepDelay,
    };
    child.send(message);
    const joins = new Joins(
      sharedBaseKey(group[0]!.job.data.recipe),
      async (base) => {
        if (this.stopping || open.size >= this.options.concurrency) return 'none';
        const held = await this.takeOnBase(base);
        if (typeof held === 'string') return held;
        const { job, token } = held;
        if (!running) {
          await job.moveToWait(token);
          return 'none';
        }
        held.joining = true;
        open.set(job.id!, held);
        this.options.log(
          'job_started',
          { id: job.id, name: job.name, joining: true },
          `job ${job.id} (${job.name}): joins the group training on the same base`,
        );
        // A send to a training process that has just exited fails in the callback; its exit releases the job.
        child.send({ type: 'join', job: { id: job.id!, ...job.data } } satisfies ToTrainer, () => {});
        return 'took';
      },
      (error) =>
        this.options.log(
          'warning',
          { message: (error as Error).message },
          `taking jobs to join the group: ${(error as Error).message}`,
        ),
    );
    const renewing = setInterval(
      () =>
        void this.renew(open, child).then(
          () => joins.poll(),
          (error: Error) => this.options.log('warning', { message: error.message }, `renewing locks: ${error.message}`),
        ),
      Math.max(100, this.options.lockDuration / 4),
    );
    const how = await exited;
    running = false;
    clearInterval(renewing);
    await joins.idle();
    await handled;
    this.child = undefined;
    for (const held of open.values()) await this.release(held, how);
  }

  /** A job the training process left unfinished: back to the queue when this worker stops or it never joined, else failed. */
  private async release({ job, token, joining }: Held, how: string): Promise<void> {
    try {
      if (this.stopping || joining === true) {
        await job.moveToWait(token);
        this.options.log(
          'job_returned',
          { id: job.id, name: job.name },
          `job ${job.id} (${job.name}): back to the queue (${this.stopping ? 'this worker stops' : 'its group ended before it joined'})`,
        );
      } else
        await job.moveToFailed(new Error(`the training process exited (${how}) before the job ended`), token, false);
    } catch (error) {
      this.warn(job, error);
    }
  }

  /** Renews the locks of the jobs in training and forwards their cancellations. */
  private async renew(open: Map<string, Held>, child: ChildProcess): Promise<void> {
    for (const held of open.values()) {
      const { job, token } = held;
      const kept = await job.extendLock(token, this.options.lockDuration).catch(() => 0);
      if (!kept && open.has(job.id!)) {
        // Another worker holds the job now: this one must stop writing into its folder.
        open.delete(job.id!);
        this.options.log(
          'warning',
          { id: job.id },
          `job ${job.id}: its lock was lost (this worker was too slow to renew it); stopping its training here`,
        );
        child.kill('SIGKILL');
        continue;
      }
      if (!held.cancelling && (await this.connection.client.hexists(cancelKey(this.connection), job.id!))) {
        held.cancelling = true;
        child.send({ type: 'cancel', id: job.id! } satisfies ToTrainer, () => {});
      }
    }
  }

  private async handle(message: FromTrainer, open: Map<string, Held>): Promise<void> {
    const held = open.get(message.id);
    if (held === undefined) return;
    const { job, token } = held;
    try {
      switch (message.type) {
        case 'progress':
          await job.updateProgress({ ...message.progress });
          return;
        case 'resuming':
          this.options.log(
            'job_resumed',
            { id: job.id, name: job.name, checkpoint: message.checkpoint },
            `job ${job.id} (${job.name}): resuming from ${message.checkpoint}`,
          );
          return;
        case 'done':
          open.delete(message.id);
          await recordCompletion(job, token, message, this.options.log);
          return;
        case 'failed':
          open.delete(message.id);
          await job.moveToFailed(new Error(message.message), token, false);
          this.options.log(
            'job_failed',
            { id: job.id, name: job.name, message: message.message },
            `job ${job.id} (${job.name}): failed: ${message.message}`,
          );
          return;
        case 'joined':
          held.joining = false;
          this.options.log(
            'job_joined',
            { id: job.id, name: job.name },
            `job ${job.id} (${job.name}): joined the running group`,
          );
          return;
        case 'not_joined':
          // The run had ended before the job could join: back to the queue, for the next group.
          open.delete(message.id);
          await job.moveToWait(token);
          this.options.log(
            'job_deferred',
            { id: job.id, name: job.name },
            `job ${job.id} (${job.name}): the group ended before it could join; back to the queue`,
          );
          return;
        case 'cancelled':
          open.delete(message.id);
          await job.moveToFailed(new Error(`${CANCELLED} at step ${message.step}`), token, false);
          await this.connection.client.hdel(cancelKey(this.connection), job.id!);
          this.options.log(
            'job_cancelled',
            { id: job.id, name: job.name, step: message.step },
            `job ${job.id} (${job.name}): cancelled at step ${message.step}`,
          );
          return;
      }
    } catch (error) {
      this.warn(job, error);
    }
  }

  private warn(job: Job, error: unknown): void {
    this.options.log(
      'warning',
      { id: job.id, message: (error as Error).message },
      `job ${job.id}: ${(error as Error).message}`,
    );
  }
}
