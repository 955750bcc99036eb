// Shared by the server's tests: a service over a fixture model, requests run to the end, and the
// same request generated alone through PeftModel.generate for comparison.
import { join } from 'node:path';
import { cloneModule } from '../../src/nn/index.js';
import { PeftModel } from '../../src/peft/index.js';
import { tensor, type Tensor } from '../../src/tensor/index.js';
import { Service, type ServiceOptions } from '../../src/serve/service.js';
import { DEFAULT_SAMPLING, type SamplingParams } from '../../src/serve/sampling-params.js';
import type { FinishReason } from '../../src/serve/sequence.js';
import type { TokenLogprob } from '../../src/serve/sampler.js';

export const FIXTURES = join(import.meta.dirname, '../fixtures/hf');
/** A fixture adapter's folder (`method` names one under <model>/peft/), or `method` itself when it is an absolute path. */
export const adapterPath = (model: string, method: string) => (method.startsWith('/') ? method : join(FIXTURES, model, 'peft', method));

export function openService(model: string, methods: readonly string[], options: Partial<ServiceOptions> = {}): Promise<Service> {
  return Service.open({
    model: join(FIXTURES, model),
    adapters: new Map(methods.map((m) => [m, adapterPath(model, m)])),
    eosTokenIds: [],
    ...options,
  });
}

export interface Finished {
  tokens: number[];
  text: string;
  reason: FinishReason;
  logprobs: TokenLogprob[];
}

/** Submits one request and resolves when it ends. */
export function run(service: Service, model: string, prompt: readonly number[], params: Partial<SamplingParams>): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const out: Finished = { tokens: [], text: '', reason: 'abort', logprobs: [] };
    service
      .submit(model, prompt, { ...DEFAULT_SAMPLING, ...params }, {
        onOutput: (tokens, text, logprobs) => {
          out.tokens.push(...tokens);
          out.text += text;
          out.logprobs.push(...logprobs);
        },
        onFinish: (reason) => resolve({ ...out, reason }),
      })
      .catch(reject);
  });
}

/** The greedy continuation of `prompt` by the adapter in `method` (or the base), generated alone. */
export async function soloGreedy(service: Service, model: string, method: string | null, prompt: readonly number[], maxNewTokens: number): Promise<number[]> {
  const base = cloneModule(service.base, { shareTensors: true });
  const ids = tensor([...prompt], [1, prompt.length], 'int64');
  const generating = (method === null ? base : await PeftModel.fromPretrained(base, adapterPath(model, method))) as unknown as {
    generate(ids: Tensor, options: object): Tensor;
  };
  return generating.generate(ids, { maxNewTokens, eosTokenId: [] }).toFlatArray().slice(prompt.length);
}

/** Reads the adapters in now, so that requests submitted together start in the same step. */
export async function warm(service: Service, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await service.registry.acquire(name);
    service.registry.release(name);
  }
}

/** Records the largest number of rows one decode step ran. */
export function watchBatch(service: Service): { maxDecodeRows: number } {
  const seen = { maxDecodeRows: 0 };
  const schedule = service.engine.scheduler.schedule.bind(service.engine.scheduler);
  service.engine.scheduler.schedule = () => {
    const plan = schedule();
    seen.maxDecodeRows = Math.max(seen.maxDecodeRows, plan.decode.length);
    return plan;
  };
  return seen;
}

/** A copy of the gpt2 fixture whose tokenizer has a chat template (the fixture's has none). */
export async function chatModelFolder(): Promise<string> {
  const { mkdtemp, copyFile, readFile, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'peft-serve-model-'));
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json']) await copyFile(join(FIXTURES, 'gpt2', f), join(dir, f));
  const config = JSON.parse(await readFile(join(FIXTURES, 'gpt2', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  config.chat_template = '{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}';
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}
