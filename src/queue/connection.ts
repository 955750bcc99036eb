// Connecting to the Redis server behind a queue: the URL checked, the server asked once (PING,
// bounded wait) so that a wrong address is a QueueError naming it, then BullMQ's Queue over it.
import { Queue, createBunRedisClient } from 'bullmq';
import { PeftError } from '../tensor/errors.js';
import { RespClient, parseRedisUrl } from './resp-client.js';

/** The BullMQ queue that holds training jobs. */
export const QUEUE_NAME = 'peftjs-train';

/** How long the first answer from Redis may take before the queue counts as unreachable. */
const CONNECT_TIMEOUT_MS = 3000;

/** A queue that cannot be reached or used: an unreachable Redis, a bad URL, an unknown job. */
export class QueueError extends PeftError {
  constructor(message: string) {
    super('E_QUEUE', message);
  }
}

/** BullMQ's client for Redis (its connection option), made from a redis:// URL. */
export type RedisClient = ReturnType<typeof createBunRedisClient>;

export interface QueueConnection {
  url: string;
  client: RedisClient;
  queue: Queue;
  close(): Promise<void>;
}

/** Checks the URL and that a Redis server answers there, then opens the training queue on it. */
export async function connectQueue(url: string): Promise<QueueConnection> {
  try {
    parseRedisUrl(url);
  } catch (error) {
    throw new QueueError(`--queue ${(error as Error).message}`);
  }
  const probe = new RespClient(url, CONNECT_TIMEOUT_MS);
  try {
    await probe.send('PING');
  } catch (error) {
    throw new QueueError(
      `cannot reach the queue's Redis at ${url}: ${(error as Error).message}; start one (redis-server --port 6379 --bind 127.0.0.1) or pass --queue redis://host:port of a running one`,
    );
  } finally {
    probe.close();
  }
  const client = createBunRedisClient(new RespClient(url, CONNECT_TIMEOUT_MS) as never);
  const queue = new Queue(QUEUE_NAME, { connection: client as never });
  return {
    url,
    client,
    queue,
    close: async () => {
      await queue.close();
      await client.quit();
    },
  };
}
