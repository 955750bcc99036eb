// The messages between a page and the engine's Worker (src/browser/worker.ts). Each request carries
// an id; the worker answers it once (its reply or an error), and a training run sends progress
// events with the same id in between. The page side is src/browser/client.ts.

/** Where the model folder is: a URL, or the File objects of a picked folder. */
export type ModelLocation = { url: string } | { files: File[] };

export interface TrainSettings {
  /** The training text: plain text, or JSONL whose lines hold a "text" field (else their string fields joined). */
  text: string;
  /** 'text' or 'jsonl' (default: guessed from the first character). */
  format?: 'text' | 'jsonl';
  steps: number;
  batchSize?: number;
  /** Tokens per training row (default 64, at most the model's positions). */
  sequenceLength?: number;
  lr?: number;
  r?: number;
  loraAlpha?: number;
  /** Default: the method's targets for the architecture. */
  targetModules?: string[];
  seed?: number;
}

export type Request =
  | { id: number; type: 'load'; model: ModelLocation; dtype?: 'float32' | 'bfloat16' }
  | { id: number; type: 'train'; settings: TrainSettings }
  | { id: number; type: 'generate'; prompt: string; maxNewTokens?: number }
  | { id: number; type: 'logits'; prompt: string }
  | { id: number; type: 'save' };

export interface BackendSummary {
  name: 'native' | 'wasm';
  simd: string;
  threads: number;
  /** Why fewer threads run than the machine has (no cross-origin isolation), if so. */
  warning?: string;
}

export interface LoadedReply {
  type: 'loaded';
  modelType: string;
  parameters: number;
  /** Wall time of loading config, weights and tokenizer, in ms. */
  loadMs: number;
  backend: BackendSummary;
}

export interface ProgressEvent {
  type: 'progress';
  step: number;
  steps: number;
  loss: number;
  /** Training tokens per second over this step. */
  tokensPerSecond: number;
}

export interface TrainedReply {
  type: 'trained';
  losses: number[];
  /** Training tokens per second over all steps after the first (the first includes warm-up). */
  tokensPerSecond: number;
  trainable: number;
}

export type Reply =
  | LoadedReply
  | TrainedReply
  | { type: 'generated'; text: string }
  | { type: 'logits'; ids: number[]; shape: number[]; data: Float32Array }
  /** The adapter's files as HF PEFT writes them: adapter_config.json and adapter_model.safetensors. */
  | { type: 'saved'; files: Record<string, Blob> }
  /** `kind` 'out-of-memory' when an allocation failed; the worker stays usable either way. */
  | { type: 'error'; kind: 'out-of-memory' | 'error'; name: string; message: string };

export type Message = (Reply | ProgressEvent) & { id: number };
