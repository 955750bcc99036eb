// The page's side of the engine Worker: each call posts a request and resolves with its reply, so a
// page writes `await engine.train(settings, onProgress)` and stays responsive meanwhile. Bundled into
// dist/web/peftjs.js (no engine code: that lives in the worker).
import type {
  LoadedReply,
  Message,
  ModelLocation,
  ProgressEvent,
  Reply,
  Request,
  TrainSettings,
  TrainedReply,
} from './protocol.js';

export type {
  LoadedReply,
  ModelLocation,
  ProgressEvent,
  TrainSettings,
  TrainedReply,
  BackendSummary,
} from './protocol.js';

/** What the worker reported instead of a reply; `kind` 'out-of-memory' when an allocation failed. */
export class EngineError extends Error {
  constructor(
    readonly kind: 'out-of-memory' | 'error',
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: Message }) => void): void;
  terminate(): void;
}

type Pending = {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  progress?: (event: ProgressEvent) => void;
};

export class PeftWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly worker: WorkerLike;

  /** `workerUrl`: dist/web/peftjs-worker.js as served (peftjs-wasm.js and .wasm beside it). */
  constructor(workerUrl: string | URL) {
    this.worker = new (globalThis as unknown as { Worker: new (url: string | URL) => WorkerLike }).Worker(workerUrl);
    this.worker.addEventListener('message', ({ data }) => {
      const waiting = this.pending.get(data.id);
      if (waiting === undefined) return;
      if (data.type === 'progress') {
        waiting.progress?.(data);
        return;
      }
      this.pending.delete(data.id);
      if (data.type === 'error') waiting.reject(new EngineError(data.kind, data.name, data.message));
      else waiting.resolve(data);
    });
  }

  /** Loads a model folder (config.json, model.safetensors or shards, tokenizer.json) from a URL or picked files. */
  load(model: ModelLocation, options: { dtype?: 'float32' | 'bfloat16' } = {}): Promise<LoadedReply> {
    return this.call({ type: 'load', model, ...options }) as Promise<LoadedReply>;
  }

  /** Trains a new LoRA adapter; `onProgress` hears every step's loss and tokens/s. */
  train(settings: TrainSettings, onProgress?: (event: ProgressEvent) => void): Promise<TrainedReply> {
    return this.call({ type: 'train', settings }, onProgress) as Promise<TrainedReply>;
  }

  async generate(prompt: string, maxNewTokens?: number): Promise<string> {
    const reply = await this.call({
      type: 'generate',
      prompt,
      ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
    });
    return (reply as { text: string }).text;
  }

  /** The model's logits for `prompt` (with the adapter, once trained). */
  async logits(prompt: string): Promise<{ ids: number[]; shape: number[]; data: Float32Array }> {
    return (await this.call({ type: 'logits', prompt })) as { ids: number[]; shape: number[]; data: Float32Array };
  }

  /** The adapter as HF PEFT's files: { 'adapter_config.json': Blob, 'adapter_model.safetensors': Blob }. */
  async save(): Promise<Record<string, Blob>> {
    return ((await this.call({ type: 'save' })) as { files: Record<string, Blob> }).files;
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values())
      p.reject(new EngineError('error', 'Terminated', 'the engine worker was stopped'));
    this.pending.clear();
  }

  private call(request: DistributiveOmit<Request, 'id'>, progress?: (event: ProgressEvent) => void): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(progress ? { progress } : {}) });
      this.worker.postMessage({ ...request, id });
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
