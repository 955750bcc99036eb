// A Redis server of a test's own: on a free loopback port, nothing saved, stopped by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { RespClient } from '../../src/queue/resp-client.js';

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `redis://127.0.0.1:${port}`;
  // Up to 5 s for the server to answer.
  for (let i = 0; ; i++) {
    const client = new RespClient(url, 500);
    const up = await client.send('PING').then(
      () => true,
      () => false,
    );
    client.close();
    if (up) break;
    if (i === 50 || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
