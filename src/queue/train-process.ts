// The training process a queue worker forks for a group of jobs: training runs here, so the
// worker's event loop stays free to renew the jobs' locks in Redis however long a step takes. It
// exits when its worker goes (the IPC channel closes): a dead worker's jobs go back to the queue,
// and nothing must keep writing into their folders.
import { trainGroup } from './train-group.js';
import type { FromTrainer, GroupJob, ToTrainer } from './protocol.js';

/** Exit code when the worker went away mid-run. */
const ORPHANED = 75;

const cancelled = new Set<string>();
/** The messages sent so far, delivered: the channel closes only after the last one went. */
let sent: Promise<void> = Promise.resolve();
const send = (message: FromTrainer) => {
  sent = sent.then(() => new Promise<void>((done) => process.send?.(message, undefined, {}, () => done()) ?? done()));
};

/** Jobs offered to join the run, not yet taken in; null once the run no longer takes any. */
let joining: GroupJob[] | null = [];
const notJoined = (job: GroupJob) => send({ type: 'not_joined', id: job.id });

/** Set when this process closes the channel itself, its group done: then it ends normally (exit code 0). */
let finished = false;
process.on('disconnect', () => {
  if (!finished) process.exit(ORPHANED);
});
process.on('message', (message: ToTrainer) => {
  switch (message.type) {
    case 'cancel':
      cancelled.add(message.id);
      return;
    case 'join':
      if (joining === null) notJoined(message.job);
      else joining.push(message.job);
      return;
    case 'train':
      void trainGroup(message.jobs, {
        send,
        cancelled: (id) => cancelled.has(id),
        stepDelay: message.stepDelay,
        joining: () => joining?.splice(0) ?? [],
      })
        .then(() => {
          // The run takes no more jobs: the ones offered since its last step go back to the worker.
          for (const job of joining ?? []) notJoined(job);
          joining = null;
        })
        .then(() => sent)
        .then(() => {
          finished = true;
          process.disconnect?.();
        });
  }
});
