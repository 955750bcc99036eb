// peft worker --queue URL: trains the queue's jobs until stopped (SIGTERM or Ctrl-C), when the jobs
// in training go back to the queue at once (their checkpoints stay, and another worker resumes them).
import { connectQueue } from '../../queue/connection.js';
import { QueueWorker, type WorkerOptions } from '../../queue/worker.js';

export async function workerCommand(url: string, options: WorkerOptions, ready: () => void): Promise<void> {
  const connection = await connectQueue(url);
  const worker = new QueueWorker(connection, options);
  const stop = () => worker.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    ready();
    await worker.run();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await connection.close();
  }
}
