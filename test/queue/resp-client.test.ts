// The RESP client BullMQ talks to Redis through, against a scripted server: replies split across
// TCP chunks at every byte, nested arrays, nil, integers and error replies, in order when pipelined;
// pending commands rejected when the server hangs up; URLs read or refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { parseRedisUrl, RespClient } from '../../src/queue/resp-client.js';

/** A server that answers each command's arrival with the next scripted reply, one byte per write. */
async function scripted(replies: string[]): Promise<{ url: string; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d) => {
      // One reply per command (each command's frame starts with '*').
      for (let i = 0; i < d.toString().split('*').length - 1 && replies.length > 0; i++) {
        const reply = replies.shift()!;
        if (reply === 'HANGUP') return socket.destroy();
        for (const byte of Buffer.from(reply)) socket.write(Buffer.from([byte]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `redis://127.0.0.1:${port}`, close: () => (sockets.forEach((s) => s.destroy()), server.close()) };
}

test('RESP client: replies split at every byte come back whole and in order', async () => {
  const server = await scripted([
    '+OK\r\n',
    ':42\r\n',
    '$4\r\nhé!\r\n',
    '$-1\r\n',
    '*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n',
    '-ERR wrong type\r\n',
    '+PONG\r\n',
  ]);
  const client = new RespClient(server.url);
  const replies = await Promise.allSettled([
    client.send('SET', ['k', 'v']),
    client.send('INCR', ['n']),
    client.send('GET', ['k']),
    client.send('GET', ['none']),
    client.send('X', []),
    client.send('LPUSH', ['k', 'x']),
    client.send('PING'),
  ]);
  assert.deepEqual(
    replies.slice(0, 5).map((r) => (r as PromiseFulfilledResult<unknown>).value),
    ['OK', 42, 'hé!', null, ['a', [1, null], []]],
  );
  assert.equal((replies[5] as PromiseRejectedResult).reason.message, 'ERR wrong type');
  assert.equal((replies[6] as PromiseFulfilledResult<unknown>).value, 'PONG');
  client.close();
  server.close();
});

test('RESP client: a server that hangs up rejects the pending commands; an unreachable one fails to connect', async () => {
  const server = await scripted(['HANGUP']);
  const client = new RespClient(server.url);
  let closed = false;
  client.onclose = () => (closed = true);
  await assert.rejects(client.send('GET', ['k']), /Connection closed/);
  assert.equal(client.connected, false);
  assert.ok(closed);
  server.close();
  await assert.rejects(new RespClient('redis://127.0.0.1:1', 500).send('PING'), /ECONNREFUSED/);
});

test('RESP client: redis:// URLs give host, port, credentials and database; others are refused, named', () => {
  assert.deepEqual(parseRedisUrl('redis://u:p%40ss@10.0.0.5:6380/2'), {
    host: '10.0.0.5',
    port: 6380,
    tls: false,
    username: 'u',
    password: 'p@ss',
    db: 2,
  });
  assert.deepEqual(parseRedisUrl('rediss://cache.example'), { host: 'cache.example', port: 6379, tls: true });
  assert.throws(() => parseRedisUrl('127.0.0.1:6379'), /'127\.0\.0\.1:6379' is not a URL; write redis:\/\/host:port/);
  assert.throws(() => parseRedisUrl('redis://h:1/db'), /the path is the database number/);
});
