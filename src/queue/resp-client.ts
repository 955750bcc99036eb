// A minimal Redis client (RESP2 over TCP) shaped like Bun's built-in RedisClient, so that BullMQ
// drives it through its own Bun adapter (bullmq/dist/esm/classes/bun-redis-client.js: `send`,
// `connected`, `connect`, `close`, `duplicate`, `onconnect` / `onclose`). BullMQ 6 leaves its Redis
// driver to the application (ioredis, node-redis and Bun's client are optional peers) and none is a
// dependency here; this is the little that BullMQ needs of one: pipelined commands, replies in
// order, AUTH and SELECT from the URL, and every pending command rejected when the socket closes.
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** A Redis reply as RESP2 gives it: simple and bulk strings as strings, integers, arrays, nil as null. */
export type RespReply = string | number | null | RespReply[];

/** What a reply's parse found: the value and where the next reply starts; undefined while incomplete. */
type Parsed = { value: RespReply | Error; next: number } | undefined;

const CRLF = Buffer.from('\r\n');

/** The connection's settings, read from a redis:// or rediss:// URL. */
export interface RespTarget {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db?: number;
}

/** redis://[user[:password]@]host[:port][/db]; throws TypeError naming what is wrong. */
export function parseRedisUrl(url: string): RespTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`'${url}' is not a URL; write redis://host:port (e.g. redis://127.0.0.1:6379)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new TypeError(`'${url}' is not a redis:// or rediss:// URL`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new TypeError(`'${url}': the path is the database number (redis://host:port/0), not '${db}'`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    tls: parsed.protocol === 'rediss:',
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== '' ? { db: Number(db) } : {}),
  };
}

/** One RESP reply starting at `at` in `buf`. */
function parseReply(buf: Buffer, at: number): Parsed {
  const end = buf.indexOf(CRLF, at);
  if (end < 0) return undefined;
  const line = buf.toString('utf8', at + 1, end);
  const next = end + 2;
  switch (buf[at]) {
    case 0x2b: // '+'
      return { value: line, next };
    case 0x2d: // '-'
      return { value: new Error(line), next };
    case 0x3a: // ':'
      return { value: Number(line), next };
    case 0x24: {
      // '$'
      const length = Number(line);
      if (length < 0) return { value: null, next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString('utf8', next, next + length), next: next + length + 2 };
    }
    case 0x2a: {
      // '*'
      const count = Number(line);
      if (count < 0) return { value: null, next };
      const items: RespReply[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (item === undefined) return undefined;
        // An error inside an array (EXEC of a failed command) stays a value, as other clients keep it.
        items.push(item.value instanceof Error ? (item.value.message as RespReply) : item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`Redis sent a reply of unknown type '${String.fromCharCode(buf[at]!)}'`);
  }
}

function encode(command: string, args: readonly unknown[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length + 1}\r\n`)];
  for (const arg of [command, ...args]) {
    const bytes = Buffer.isBuffer(arg) ? arg : arg instanceof Uint8Array ? Buffer.from(arg) : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

interface Pending {
  resolve: (value: RespReply) => void;
  reject: (error: Error) => void;
}

export class RespClient {
  /** True between the connection's handshake (AUTH, SELECT) and its close. */
  connected = false;
  onconnect: () => void = () => {};
  onclose: (error?: Error) => void = () => {};
  onerror: (error: Error) => void = () => {};
  private socket: Socket | undefined;
  private connecting: Promise<void> | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private readonly target: RespTarget;

  constructor(
    readonly url: string,
    private readonly connectTimeoutMs = 5000,
  ) {
    this.target = parseRedisUrl(url);
  }

  /** A new client of the same server (BullMQ's blocking connections are duplicates). */
  duplicate(): Promise<RespClient> {
    return Promise.resolve(new RespClient(this.url, this.connectTimeoutMs));
  }

  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    const { host, port, tls } = this.target;
    const socket = tls ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => socket.destroy(new Error(`no answer from ${host}:${port} within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.onerror(error));
    socket.on('close', () => this.closed());
    const { username, password, db } = this.target;
    if (password !== undefined) await this.write('AUTH', username === undefined ? [password] : [username, password]);
    if (db !== undefined) await this.write('SELECT', [db]);
    this.connected = true;
    this.onconnect();
  }

  /** Sends a command (connecting first when needed); resolves with its reply, rejects with Redis's error. */
  async send(command: string, args: readonly unknown[] = []): Promise<RespReply> {
    if (!this.connected) await this.connect();
    return this.write(command, args);
  }

  // The three commands BullMQ's Bun adapter calls by name.
  get(key: string): Promise<RespReply> {
    return this.send('GET', [key]);
  }

  smembers(key: string): Promise<RespReply> {
    return this.send('SMEMBERS', [key]);
  }

  async incr(key: string): Promise<number> {
    return Number(await this.send('INCR', [key]));
  }

  private write(command: string, args: readonly unknown[]): Promise<RespReply> {
    const socket = this.socket;
    if (socket === undefined || socket.destroyed) return Promise.reject(new Error('Connection closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      socket.write(encode(command, args));
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    for (;;) {
      if (at >= this.buffer.length) break;
      const reply = parseReply(this.buffer, at);
      if (reply === undefined) break;
      at = reply.next;
      const waiter = this.pending.shift();
      if (reply.value instanceof Error) waiter?.reject(reply.value);
      else waiter?.resolve(reply.value);
    }
    this.buffer = this.buffer.subarray(at);
  }

  private closed(): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.socket = undefined;
    const error = new Error('Connection closed');
    for (const waiter of this.pending.splice(0)) waiter.reject(error);
    if (wasConnected) this.onclose(error);
  }

  close(): void {
    this.socket?.destroy();
  }

  /** As close(): BullMQ recognises a client instance by connect, disconnect and duplicate. */
  disconnect(): void {
    this.close();
  }
}
