// A small static server for the example page: the page (this folder), the browser build
// (dist/web) and, optionally, model folders under /models/<name>/. It sends the two headers that
// make the page cross-origin isolated (SharedArrayBuffer, so the engine runs on every core); with
// `isolate: false` it leaves them out and the page runs on one thread, as on a plain host.
//   node --import tsx examples/browser/serve.ts [--port 8080] [--model gpt2=/path/to/gpt2]
import { createServer, type Server } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

export interface ServeOptions {
  port?: number;
  /** Where the browser build is (default: dist/web of this checkout). */
  dist?: string;
  /** Model folders served under /models/<name>/. */
  models?: Record<string, string>;
  /** Send COOP/COEP (default true). */
  isolate?: boolean;
}

/** The file a URL path names, or null when it is outside the served folders. */
function resolve(path: string, options: ServeOptions): string | null {
  const mounts: [string, string][] = [
    ['/dist/', options.dist ?? join(here, '..', '..', 'dist', 'web')],
    ...Object.entries(options.models ?? {}).map(([name, dir]): [string, string] => [`/models/${name}/`, dir]),
    ['/', here],
  ];
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length) || 'index.html'));
    return file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? file : null;
  }
  return null;
}

/** Starts the server on 127.0.0.1; resolves with it and its URL. */
export async function serve(options: ServeOptions = {}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(path, options);
    if (options.isolate ?? true) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    const fail = (code: number) => {
      res.statusCode = code;
      res.end();
    };
    if (file === null) return fail(403);
    stat(file).then(
      (s) => {
        if (!s.isFile()) return fail(404);
        res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
        res.setHeader('Content-Length', s.size);
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).pipe(res);
      },
      () => fail(404),
    );
  });
  await new Promise<void>((done) => server.listen(options.port ?? 0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { server, url: `http://127.0.0.1:${port}` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const models: Record<string, string> = {};
  let port = 8080;
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--port') port = Number(args[i + 1]);
    else if (args[i] === '--model') {
      const [name, dir] = (args[i + 1] ?? '').split('=');
      if (!name || !dir) throw new Error(`--model takes name=/path/to/folder, not ${args[i + 1]}`);
      models[name] = dir;
    } else throw new Error(`unknown option ${args[i]}; use --port N and --model name=/path`);
  }
  const { url } = await serve({ port, models });
  console.log(`peftjs example: ${url}/`);
}
