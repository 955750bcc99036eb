// What the engine Worker does with each request: load a model folder, train a LoRA on a text with
// progress per step, generate, give logits (the test compares them with Node's), save the adapter
// as HF PEFT's two files in Blobs. Kept apart from worker.ts (the message plumbing) so it reads as
// plain library use.
import { AutoModelForCausalLM } from '../models/auto.js';
import type { GenerateOptions } from '../models/generation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { PretrainedModel } from '../models/registry.js';
import { getPeftModel, type PeftModel } from '../peft/peft-model.js';
import { AutoTokenizer } from '../io/tokenizer/auto.js';
import type { PreTrainedTokenizer } from '../io/tokenizer/tokenizer.js';
import { BlobSink, BlobSource } from '../io/files/blobs.js';
import { UrlSource } from '../io/files/url.js';
import type { FileSource } from '../io/files/types.js';
import { AdamW } from '../train/optim/adamw.js';
import { clipGradNorm } from '../train/clip.js';
import { manualSeed } from '../tensor/random.js';
import { noGrad } from '../tensor/grad-mode.js';
import { tidy } from '../tensor/scope.js';
import { tensor } from '../tensor/ops/index.js';
import { PeftError } from '../tensor/errors.js';
import { documents, tokenRows } from './training-text.js';
import type {
  LoadedReply,
  ModelLocation,
  ProgressEvent,
  TrainSettings,
  TrainedReply,
  BackendSummary,
} from './protocol.js';

interface Loaded {
  model: PretrainedModel;
  tokenizer: PreTrainedTokenizer;
  peft: PeftModel | null;
}

export class Engine {
  private loaded: Loaded | null = null;

  constructor(private readonly backend: () => BackendSummary) {}

  async load(location: ModelLocation, dtype: 'float32' | 'bfloat16' = 'float32'): Promise<LoadedReply> {
    const started = performance.now();
    const source: FileSource =
      'url' in location ? new UrlSource(location.url.replace(/\/+$/, '')) : BlobSource.fromFiles(location.files);
    this.loaded = null;
    const model = await AutoModelForCausalLM.fromPretrained(source, { dtype });
    const tokenizer = await AutoTokenizer.fromPretrained(source);
    this.loaded = { model, tokenizer, peft: null };
    return {
      type: 'loaded',
      modelType: model.config.model_type,
      parameters: model.numParameters(),
      loadMs: performance.now() - started,
      backend: this.backend(),
    };
  }

  /** Trains a fresh LoRA adapter (replacing the previous one) for `settings.steps` steps. */
  train(settings: TrainSettings, progress: (event: ProgressEvent) => void): TrainedReply {
    const { model, tokenizer } = this.require();
    const positions = model.config as { n_positions?: number; max_position_embeddings?: number };
    const maxLength = positions.n_positions ?? positions.max_position_embeddings ?? 1024;
    const length = Math.min(settings.sequenceLength ?? 64, maxLength);
    const batchSize = settings.batchSize ?? 4;
    const rows = tokenRows(
      documents(settings.text, settings.format).map((d) => tokenizer.encode(d, { addSpecialTokens: false })),
      length,
      tokenizer.eosTokenId,
    );
    manualSeed(settings.seed ?? 42);
    this.loaded!.peft?.unload();
    this.loaded!.peft = null;
    const peft = getPeftModel(model, {
      peftType: 'LORA',
      taskType: 'CAUSAL_LM',
      r: settings.r ?? 8,
      loraAlpha: settings.loraAlpha ?? 16,
      loraDropout: 0,
      ...(settings.targetModules ? { targetModules: settings.targetModules } : {}),
    });
    this.loaded!.peft = peft;
    peft.train();
    const params = [...peft.parameters()].filter((p) => p.requiresGrad);
    const optimizer = new AdamW(params, { lr: settings.lr ?? 1e-3, weightDecay: 0 });
    const losses: number[] = [];
    let steadyTokens = 0;
    let steadyMs = 0;
    for (let step = 0; step < settings.steps; step++) {
      const started = performance.now();
      const batch = Array.from({ length: batchSize }, (_, i) => rows[(step * batchSize + i) % rows.length]!);
      const inputIds = tensor(batch.flat(), [batchSize, length], 'int64');
      let loss: number;
      try {
        loss = tidy(() => {
          const out = peft.forward({ inputIds, labels: inputIds });
          out.loss!.backward();
          return out.loss!.item();
        });
        clipGradNorm(params, 1.0);
        optimizer.step();
      } finally {
        optimizer.zeroGrad();
        inputIds.dispose();
      }
      const ms = performance.now() - started;
      const tokens = batchSize * length;
      if (step > 0) {
        steadyTokens += tokens;
        steadyMs += ms;
      }
      losses.push(loss);
      progress({
        type: 'progress',
        step: step + 1,
        steps: settings.steps,
        loss,
        tokensPerSecond: (tokens * 1000) / ms,
      });
    }
    peft.eval();
    return {
      type: 'trained',
      losses,
      tokensPerSecond: steadyMs > 0 ? (steadyTokens * 1000) / steadyMs : NaN,
      trainable: peft.trainableParameters().trainable,
    };
  }

  generate(prompt: string, maxNewTokens = 20): string {
    const { tokenizer } = this.require();
    const ids = tokenizer.encode(prompt);
    const model = this.current() as { generate?(inputIds: Tensor, options: GenerateOptions): Tensor };
    if (model.generate === undefined) throw new PeftError('E_VALUE', 'this model cannot generate text');
    const out = noGrad(() => model.generate!(tensor(ids, [1, ids.length], 'int64'), { maxNewTokens }));
    const all = Array.from(out.data() as ArrayLike<number | bigint>, Number);
    out.dispose();
    return tokenizer.decode(all.slice(ids.length), { skipSpecialTokens: true });
  }

  logits(prompt: string): { ids: number[]; shape: number[]; data: Float32Array } {
    const { tokenizer } = this.require();
    const ids = tokenizer.encode(prompt);
    return noGrad(() => {
      const logits = this.current().forward({ inputIds: tensor(ids, [1, ids.length], 'int64') }).logits;
      return { ids, shape: [...logits.shape], data: Float32Array.from(logits.data() as Float32Array) };
    });
  }

  async save(): Promise<Record<string, Blob>> {
    const peft = this.require().peft;
    if (peft === null) throw new PeftError('E_VALUE', 'there is no adapter to save yet; train one first');
    const sink = new BlobSink();
    await peft.savePretrained(sink);
    return Object.fromEntries(sink.files);
  }

  /** The adapted model when there is an adapter, else the base. */
  private current(): PeftModel | PretrainedModel {
    const { model, peft } = this.require();
    return peft ?? model;
  }

  private require(): Loaded {
    if (this.loaded === null) throw new PeftError('E_VALUE', 'no model is loaded; load a model folder first');
    return this.loaded;
  }
}
