// Serving many LoRA adapters: peft serve's engine against llama.cpp (node-llama-cpp) on the same
// random weights and the same adapters, exported to GGUF by peftjs. 8 streams, each with its own
// LoRA adapter (r 16 on q_proj/v_proj, random A and B), 16-token prompts, greedy, N new tokens each.
// - peftjs: one Service, all 8 requests at once: every decode step is one batch of 8 rows routed to
//   their adapters, over the GGUF file of --type as fromPretrained(file.gguf) loads it (BF16: its
//   matrices in bf16; Q8_0 / Q4_0 / Q4_K: its blocks kept quantised).
// - llama.cpp: one context per adapter (its API binds adapters to a context and cannot mix them in
//   one batch), the 8 generations run concurrently over the same GGUF file (BF16 by default).
// Rounds alternate the two engines; each record: generated tokens/s of each, their ratio, CPU
// seconds of this process per engine (llama.cpp's threads run in it too), load1.
//
// Needs the llama.cpp anchor's files (../shared/anchors/llamacpp/make_models.py, SmolLM2-135M shape):
//   python3 make_models.py --out /tmp/llamacpp-anchor --types BF16 --lora-r 0
//   PEFTJS_NUM_THREADS=2 node --import tsx bench/gguf-serve.ts --dir /tmp/llamacpp-anchor/smollm2-135m [--tokens 32] [--rounds 2] [--type BF16]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, type LlamaContext } from 'node-llama-cpp';
import { AutoModelForCausalLM, cloneModule, getPeftModel, native } from '../src/index.js';
import { Service } from '../src/serve/service.js';
import { DEFAULT_SAMPLING } from '../src/serve/sampling-params.js';
import { writeLoraAdapterGguf } from '../src/gguf/export/index.js';
import { arg, emit, round } from './lib/report.js';

const DIR = arg('dir') ?? join(tmpdir(), 'llamacpp-anchor', 'smollm2-135m');
const TOKENS = Number(arg('tokens') ?? 32);
const ROUNDS = Number(arg('rounds') ?? 2);
const TYPE = arg('type') ?? 'BF16';
const GGUF = join(DIR, `model-${TYPE}.gguf`);
const STREAMS = 8;
const PROMPT = 16;
const threads = native.numThreads();

// The GGUF file both engines serve, as fromPretrained(file.gguf) loads it: BF16 matrices in bf16,
// block types in their blocks.
const base = await AutoModelForCausalLM.fromPretrained(GGUF);
const vocab = (base.config as { vocab_size: number }).vocab_size;
// The anchor's prompt generator: ids in [256, vocab - 1), no byte tokens, no EOS.
function prompt(seed: number): number[] {
  let s = (Math.imul(seed + 1, 2654435761) + 12345) >>> 0;
  return Array.from({ length: PROMPT }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 256 + (s % (vocab - 257));
  });
}

// 8 adapters, each saved as an HF PEFT folder (for peft serve) and exported as GGUF (for llama.cpp).
const dir = await mkdtemp(join(tmpdir(), 'peft-bench-gguf-serve-'));
const names = Array.from({ length: STREAMS }, (_, i) => `lora${i}`);
for (const name of names) {
  const peft = getPeftModel(
    cloneModule(base, { shareTensors: true }),
    { peftType: 'LORA', r: 16, loraAlpha: 32, targetModules: ['q_proj', 'v_proj'], initLoraWeights: false },
    name,
  );
  await peft.savePretrained(dir);
  await writeLoraAdapterGguf(peft, join(dir, `${name}.gguf`));
}

const service = Service.create(base, null, {
  servedModelName: 'base',
  adapterDirs: [dir],
  kvCacheMb: 256,
  maxNumSeqs: 64,
  eosTokenIds: [],
});
for (const name of names) {
  await service.registry.acquire(name);
  service.registry.release(name);
}

interface Run {
  tokensPerS: number;
  cpuS: number;
  tokens: number[][];
}

async function timed(run: () => Promise<number[][]>): Promise<Run> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const tokens = await run();
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { tokensPerS: (STREAMS * TOKENS) / wall, cpuS: (used.user + used.system) / 1e6, tokens };
}

function peftjs(): Promise<number[][]> {
  return Promise.all(
    names.map(
      (name, i) =>
        new Promise<number[]>((resolve, reject) => {
          const out: number[] = [];
          service
            .submit(
              name,
              prompt(i),
              { ...DEFAULT_SAMPLING, temperature: 0, maxTokens: TOKENS },
              { onOutput: (t) => out.push(...t), onFinish: () => resolve(out) },
            )
            .catch(reject);
        }),
    ),
  );
}

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath: GGUF, gpuLayers: 0 });
const contexts: LlamaContext[] = [];
for (const name of names) {
  const lora = { adapters: [{ filePath: join(dir, `${name}.gguf`), scale: 1 }] };
  contexts.push(
    await model.createContext({
      contextSize: 128,
      batchSize: 128,
      sequences: 1,
      threads: { ideal: threads, min: 1 },
      lora,
    }),
  );
}

async function llamaCpp(): Promise<number[][]> {
  return Promise.all(
    contexts.map(async (context, i) => {
      const sequence = context.getSequence();
      const out: number[] = [];
      for await (const token of sequence.evaluate(prompt(i) as never[], { temperature: 0 })) {
        out.push(token);
        if (out.length === TOKENS) break;
      }
      sequence.dispose();
      return out;
    }),
  );
}

await peftjs();
await llamaCpp();
const common = {
  model: 'smollm2-135m shape (random)',
  adapters: 'LoRA r16 q/v x8',
  type: TYPE,
  streams: STREAMS,
  prompt: PROMPT,
  tokens: TOKENS,
  threads,
};
for (let round_ = 0; round_ < ROUNDS; round_++) {
  const ours = await timed(peftjs);
  const theirs = await timed(llamaCpp);
  // Greedy tokens agree where both engines' bf16 arithmetic picks the same argmax: shown, not required.
  const sameFirst = ours.tokens.filter((t, i) => t[0] === theirs.tokens[i]![0]).length;
  emit('gguf_serve_8_adapters', {
    ...common,
    peftjs_tok_s: round(ours.tokensPerS),
    llamacpp_tok_s: round(theirs.tokensPerS),
    ratio: round(ours.tokensPerS / theirs.tokensPerS, 3),
    peftjs_cpu_s: round(ours.cpuS),
    llamacpp_cpu_s: round(theirs.cpuS),
    streams_same_first_token: sameFirst,
    llamacpp: `node-llama-cpp, ${TYPE} GGUF, one context per adapter`,
  });
}

for (const context of contexts) await context.dispose();
await model.dispose();
await llama.dispose();
await rm(dir, { recursive: true });
