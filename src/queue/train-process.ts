// The training process a queue worker forks for a group of jobs: training runs here, so the
// worker's event loop stays free to renew the jobs' locks in Redis however long a step takes. It
// exits when its worker goes (the IPC channel closes): a dead worker's jobs go back to the queue,
// and nothing must keep writing into their folders.
import { trainGroup } from './train-group.js';
import type { FromTrainer, ToTrainer } from './protocol.js';

/** Exit code when the worker went away mid-run. */
const ORPHANED = 75;

const cancelled = new Set<string>();
/** The messages sent so far, delivered: the channel closes only after the last one went. */
let sent: Promise<void> = Promise.resolve();
const send = (message: FromTrainer) => {
  sent = sent.then(() => new Promise<void>((done) => process.send?.(message, undefined, {}, () => done()) ?? done()));
};

process.on('disconnect', () => process.exit(ORPHANED));
process.on('message', (message: ToTrainer) => {
  if (message.type === 'cancel') {
    cancelled.add(message.id);
    return;
  }
  void trainGroup(message.jobs, { send, cancelled: (id) => cancelled.has(id), stepDelay: message.stepDelay })
    .then(() => sent)
    .then(() => process.disconnect?.());
});
