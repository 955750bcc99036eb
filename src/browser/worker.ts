// The engine's Worker (bundled by scripts/build-browser.ts into dist/web/peftjs-worker.js, a
// classic worker): loads the build of Emscripten's peftjs-wasm*.js that availableThreads() names from
// beside itself, starts the WebAssembly kernels, then answers the page's requests (protocol.ts) one at a time, so the page stays
// responsive however long a step takes. An error answers the request and leaves the worker usable;
// a failed allocation is reported as out-of-memory, naming what to reduce.
import { availableThreads, startWasmBackend, type BackendInfo } from '../tensor/native/index.browser.js';
import type { WasmFactory } from '../tensor/native/wasm/backend.js';
import { WasmMemoryLimitError } from '../tensor/native/wasm/memory-limit.js';
import { Engine } from './engine.js';
import type { BackendSummary, Message, Reply, Request } from './protocol.js';

interface WorkerScope {
  location: { href: string };
  importScripts(...urls: string[]): void;
  postMessage(message: Message): void;
  onmessage: ((event: { data: Request }) => void) | null;
  createPeftjsWasm?: WasmFactory;
}

const scope = globalThis as unknown as WorkerScope;
// The threaded kernels where the page is cross-origin isolated, else the single-threaded build.
const scriptUrl = new URL(availableThreads().script, scope.location.href).href;
scope.importScripts(scriptUrl);

let warning: string | undefined;
const starting: Promise<BackendInfo> = startWasmBackend(scope.createPeftjsWasm!, {
  scriptUrl,
  warn: (message) => {
    warning = message;
    console.warn(message);
  },
});
const engine = new Engine((): BackendSummary => ({ ...backend!, ...(warning !== undefined ? { warning } : {}) }));
let backend: BackendInfo | undefined;

/**
 * Allocation failures: the backend's typed error (a tensor or a kernel's arguments that do not fit),
 * or one the engine itself could not type (Emscripten's growth failure, an array the JS heap refused).
 */
function isOutOfMemory(error: unknown): boolean {
  if (error instanceof WasmMemoryLimitError) return true;
  return (
    error instanceof Error &&
    /allocation failed|out of memory|has no room|cannot enlarge memory|invalid (typed )?array (buffer )?length/i.test(
      error.message,
    )
  );
}

async function handle(request: Request): Promise<Reply> {
  backend = await starting;
  switch (request.type) {
    case 'load':
      return engine.load(request.model, request.dtype);
    case 'train':
      return engine.train(request.settings, (event) => scope.postMessage({ ...event, id: request.id }));
    case 'generate':
      return { type: 'generated', text: engine.generate(request.prompt, request.maxNewTokens) };
    case 'logits':
      return { type: 'logits', ...engine.logits(request.prompt) };
    case 'save':
      return { type: 'saved', files: await engine.save() };
  }
}

// Requests run one after another: training and loading share the model.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = ({ data: request }) => {
  queue = queue.then(async () => {
    let reply: Reply;
    try {
      reply = await handle(request);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = isOutOfMemory(e)
        ? {
            type: 'error',
            kind: 'out-of-memory',
            name: e.name,
            message: `out of memory: ${e.message}. The model is still loaded; use a smaller batch or sequence length.`,
          }
        : { type: 'error', kind: 'error', name: e.name, message: e.message };
    }
    scope.postMessage({ ...reply, id: request.id });
  });
};
