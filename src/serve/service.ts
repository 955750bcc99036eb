// One served model: the base, its tokenizer, the adapter registry and the engine, and what a
// request needs from them (its model resolved to a runner, its limits checked, its adapter pinned
// for as long as it runs).
import { basename } from 'node:path';
import { AutoModelForCausalLM, type PretrainedModel } from '../models/index.js';
import { AutoTokenizer, type PreTrainedTokenizer } from '../io/tokenizer/index.js';
import type { DType } from '../tensor/index.js';
import { AdapterRegistry } from './adapter-registry.js';
import { Engine, type EngineRequest } from './engine.js';
import { ServeError } from './errors.js';
import { probeLayout } from './layout.js';
import type { SamplingParams } from './sampling-params.js';
import type { Sequence, SequenceSink } from './sequence.js';

export interface ServiceOptions {
  model: string;
  /** The base model's name in the API (default: the folder's name). */
  servedModelName?: string;
  dtype?: DType;
  adapters?: ReadonlyMap<string, string>;
  adapterDirs?: readonly string[];
  maxAdapterMb?: number;
  kvCacheMb?: number;
  blockSize?: number;
  maxNumSeqs?: number;
  maxQueue?: number;
  prefillChunk?: number;
  /** Token ids that end a sequence (default: the tokenizer's and the config's eos). */
  eosTokenIds?: readonly number[];
}

export class Service {
  readonly contextLength: number;

  constructor(
    readonly base: PretrainedModel,
    readonly tokenizer: PreTrainedTokenizer | null,
    readonly registry: AdapterRegistry,
    readonly engine: Engine,
    readonly modelName: string,
  ) {
    const config = base.config as { n_positions?: number; max_position_embeddings?: number };
    this.contextLength = config.max_position_embeddings ?? config.n_positions ?? Number.MAX_SAFE_INTEGER;
  }

  /** Loads the model folder (and its tokenizer, if it has one) and serves it. */
  static async open(o: ServiceOptions): Promise<Service> {
    const base = await AutoModelForCausalLM.fromPretrained(o.model, { dtype: o.dtype ?? 'float32', logger: { warn: () => {} } });
    const tokenizer = await AutoTokenizer.fromPretrained(o.model).catch(() => null);
    return Service.create(base, tokenizer, { ...o, servedModelName: o.servedModelName ?? basename(o.model) });
  }

  /** Serves a model already in memory (benchmarks, embedding the server). */
  static create(base: PretrainedModel, tokenizer: PreTrainedTokenizer | null, o: Omit<ServiceOptions, 'model'> & { servedModelName: string }): Service {
    base.eval();
    const modelName = o.servedModelName;
    const registry = new AdapterRegistry(base, {
      baseName: modelName,
      adapters: o.adapters ?? new Map(),
      adapterDirs: o.adapterDirs ?? [],
      maxAdapterBytes: (o.maxAdapterMb ?? 1024) * 2 ** 20,
    });
    const configEos = (base.config as { eos_token_id?: number | number[] | null }).eos_token_id;
    const eos = o.eosTokenIds ?? [...new Set([...(configEos === null || configEos === undefined ? [] : [configEos].flat()), ...(tokenizer?.eosTokenId != null ? [tokenizer.eosTokenId] : [])])];
    const layout = probeLayout(base);
    registry.dtype = layout.dtype;
    const engine = new Engine(layout, tokenizer, {
      blockSize: o.blockSize ?? 16,
      kvCacheBytes: (o.kvCacheMb ?? 256) * 2 ** 20,
      maxNumSeqs: o.maxNumSeqs ?? 64,
      maxQueue: o.maxQueue ?? 1024,
      prefillChunk: o.prefillChunk ?? 256,
      eosTokenIds: eos,
    });
    engine.onRelease = (request) => {
      if (request.adapter !== null) registry.release(request.model);
    };
    return new Service(base, tokenizer, registry, engine, modelName);
  }

  /** Checks the request against the context, pins its adapter and queues it. */
  async submit(model: string, prompt: readonly number[], params: SamplingParams, sink: SequenceSink): Promise<Sequence> {
    if (prompt.length === 0) throw new ServeError(400, 'the prompt is empty; give at least one token', 'prompt');
    const vocab = (this.base.config as { vocab_size?: number }).vocab_size ?? Infinity;
    const bad = prompt.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (bad >= 0) throw new ServeError(400, `prompt token ${prompt[bad]} at position ${bad} is outside the vocabulary [0, ${vocab})`, 'prompt');
    this.checkContext(prompt.length, params.maxTokens, 0);
    const request: EngineRequest = { prompt, params, model, adapter: null, adapterHash: '', runner: this.base, routed: false, virtual: null };
    if (model !== this.modelName) {
      const resolved = await this.registry.acquire(model);
      const { internal, hash, runner, routed, virtual, group, activate } = resolved;
      Object.assign(request, { adapter: internal, adapterHash: hash, runner, routed, virtual, group: group ?? undefined, activate });
    }
    try {
      this.checkContext(prompt.length, params.maxTokens, request.virtual?.tokens ?? 0);
      return this.engine.submit(request, sink);
    } catch (error) {
      if (request.adapter !== null) this.registry.release(model);
      throw error;
    }
  }

  private checkContext(prompt: number, maxTokens: number, virtual: number): void {
    if (virtual + prompt + maxTokens <= this.contextLength) return;
    const parts = `${virtual > 0 ? `the adapter's ${virtual} virtual tokens, ` : ''}the prompt has ${prompt} and max_tokens is ${maxTokens} (${virtual + prompt + maxTokens} in all)`;
    throw new ServeError(400, `this model's context is ${this.contextLength} tokens, but ${parts}; shorten the prompt or lower max_tokens`, 'max_tokens', 'context_length_exceeded');
  }
}
