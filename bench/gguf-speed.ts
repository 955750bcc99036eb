// GGUF bases, peftjs against llama.cpp (node-llama-cpp) on the same files and the same threads:
// prompt processing (a 128-token prompt, the last position's logits) and batch-1 greedy decode
// tokens/s for each type; peftjs loads each file as fromPretrained(file.gguf) does (block types
// stay quantised). Rounds alternate the two engines on each type. Then LoRA training tokens/s over
// the Q4_K file's quantised base against the same weights in bf16 (the HF folder).
// Each record: both engines' medians, their ratio, CPU seconds of this process per engine per
// timed run (llama.cpp's threads run in it too) divided by the threads, load1.
//
// Needs the llama.cpp anchor's files (../shared/anchors/llamacpp/make_models.py, SmolLM2-135M's
// shape, random weights) and a Q4_K file written by peftjs from its HF folder:
//   python3 make_models.py --out .scratch/models --types F32,Q8_0,Q4_0 --lora-r 0
//   node --import tsx bench/gguf-speed.ts --dir .scratch/models/smollm2-135m --write-q4k
//   PEFTJS_NUM_THREADS=2 node --import tsx bench/gguf-speed.ts --dir .scratch/models/smollm2-135m \
//     [--types F32,Q8_0,Q4_0,Q4_K] [--prompt 128] [--new 32] [--rounds 3] [--train-steps 3]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, type LlamaModel, type Token } from 'node-llama-cpp';
import {
  AutoModelForCausalLM,
  getPeftModel,
  native,
  noGrad,
  readTokenizerFiles,
  tensor,
  tidy,
  type Tensor,
} from '../src/index.js';
import { writeModelGguf } from '../src/gguf/export/index.js';
import { lmTrainStep } from './lib/train-step.js';
import { arg, emit, hasFlag, round } from './lib/report.js';

const DIR = arg('dir') ?? '.scratch/models/smollm2-135m';
const TYPES = (arg('types') ?? 'F32,Q8_0,Q4_0,Q4_K').split(',');
const PROMPT = Number(arg('prompt') ?? 128);
const NEW = Number(arg('new') ?? 32);
const ROUNDS = Number(arg('rounds') ?? 3);
const TRAIN_STEPS = Number(arg('train-steps') ?? 3);
const threads = native.numThreads();
const fileOf = (type: string) => join(DIR, `model-${type}.gguf`);

if (hasFlag('write-q4k')) {
  // llama-quantize's rule for rows that are not whole super-blocks: 576-wide rows become Q5_0.
  const hf = await AutoModelForCausalLM.fromPretrained(join(DIR, 'hf'));
  await writeModelGguf(hf, await readTokenizerFiles(join(DIR, 'hf')), fileOf('Q4_K'), { type: 'Q4_K' });
  process.exit(0);
}

/** The anchor's prompt: ids in [256, vocab - 1), no byte tokens, no EOS. */
function prompt(vocab: number): number[] {
  let s = (Math.imul(1, 2654435761) + 12345) >>> 0;
  return Array.from({ length: PROMPT }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 256 + (s % (vocab - 257));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const now = () => performance.now() / 1000;

/** Seconds of one call and the CPU seconds per thread it took (this process, all threads). */
async function measured(fn: () => Promise<number | void> | number | void): Promise<{ s: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = now();
  const inner = await fn();
  const s = typeof inner === 'number' ? inner : now() - t0;
  const c = process.cpuUsage(c0);
  return { s, cpu: (c.user + c.system) / 1e6 / threads };
}

interface Engine {
  prefill(): Promise<number | void> | number | void;
  decode(): Promise<number> | number;
  dispose(): Promise<void> | void;
}

async function llamaCppEngine(model: LlamaModel, prompt: number[]): Promise<Engine> {
  const ids = prompt as Token[];
  const context = await model.createContext({
    contextSize: PROMPT + NEW + 64,
    batchSize: Math.max(512, PROMPT),
    threads: { ideal: threads, min: threads },
  });
  const seq = context.getSequence();
  const greedy = { temperature: 0 };
  return {
    async prefill() {
      await seq.clearHistory();
      await seq.controlledEvaluate([...ids.slice(0, -1), [ids.at(-1)!, { generateNext: { token: true, options: greedy } }]]);
    },
    // As the anchor's bench.mjs: the prompt but its last token evaluated untimed, then NEW tokens.
    async decode() {
      await seq.clearHistory();
      await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, -1));
      let n = 0;
      const t0 = now();
      for await (const token of seq.evaluate([ids.at(-1)!], greedy)) {
        void token;
        if (++n === NEW) break;
      }
      return now() - t0;
    },
    dispose: () => context.dispose(),
  };
}

type Generating = {
  forward(inputs: { inputIds: Tensor; logitsToKeep?: number }): { logits: Tensor };
  generate(ids: Tensor, options: Record<string, unknown>): Tensor;
};

function peftjsEngine(model: Generating, ids: number[]): Engine {
  const input = tensor([ids], [1, ids.length], 'int64');
  return {
    prefill() {
      tidy(() =>
        noGrad(() => {
          model.forward({ inputIds: input, logitsToKeep: 1 }).logits.data();
          return null;
        }),
      );
    },
    // As the anchor's peftjs.mjs: the prompt's forward gives the first token, the NEW steps after it are timed.
    decode() {
      let first = 0;
      let last = 0;
      const out = tidy(() =>
        model.generate(input, {
          maxNewTokens: NEW + 1,
          doSample: false,
          eosTokenId: [],
          onToken: (_: unknown, step: number) => {
            if (step === 0) first = now();
            else last = now();
          },
        }),
      );
      out.dispose();
      return last - first;
    },
    dispose() {},
  };
}

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' as never });
for (const type of TYPES) {
  const path = fileOf(type);
  if (!existsSync(path)) {
    emit('gguf-speed', { type, skipped: `${path} is missing (see the header of bench/gguf-speed.ts)` });
    continue;
  }
  const ours = (await AutoModelForCausalLM.fromPretrained(path)) as unknown as Generating;
  const theirs = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const ids = prompt((ours as unknown as { config: { vocab_size: number } }).config.vocab_size);
  const engines = { peftjs: peftjsEngine(ours, ids), llamacpp: await llamaCppEngine(theirs, ids) };
  const runs: Record<string, Record<'prefill' | 'decode', { s: number; cpu: number }[]>> = {
    peftjs: { prefill: [], decode: [] },
    llamacpp: { prefill: [], decode: [] },
  };
  for (const engine of Object.values(engines)) {
    await engine.prefill(); // warm-up
    await engine.decode();
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, engine] of Object.entries(engines)) {
      runs[name]!.prefill.push(await measured(() => engine.prefill()));
      runs[name]!.decode.push(await measured(() => engine.decode()));
    }
  }
  const figures = (name: string) => {
    const p = runs[name]!.prefill;
    const d = runs[name]!.decode;
    return {
      prefill_tok_s: round(PROMPT / median(p.map((x) => x.s))),
      decode_tok_s: round(NEW / median(d.map((x) => x.s))),
      prefill_cpu_s_per_thread: round(median(p.map((x) => x.cpu))),
      decode_cpu_s_per_thread: round(median(d.map((x) => x.cpu))),
    };
  };
  const [o, t] = [figures('peftjs'), figures('llamacpp')];
  emit('gguf-speed', {
    type,
    threads,
    simd: native.simdLevel(),
    prompt: PROMPT,
    new_tokens: NEW,
    rounds: ROUNDS,
    peftjs: o,
    llamacpp: t,
    prefill_ratio: round(o.prefill_tok_s / t.prefill_tok_s, 3),
    decode_ratio: round(o.decode_tok_s / t.decode_tok_s, 3),
  });
  await engines.llamacpp.dispose();
  await theirs.dispose();
}
await llama.dispose();

// LoRA training over the Q4_K file's quantised base vs the same weights in bf16 (r 16 on q/v).
if (TRAIN_STEPS > 0 && existsSync(fileOf('Q4_K'))) {
  const bases = {
    q4k: await AutoModelForCausalLM.fromPretrained(fileOf('Q4_K')),
    bf16: await AutoModelForCausalLM.fromPretrained(join(DIR, 'hf'), { dtype: 'bfloat16' }),
  };
  const steps = Object.fromEntries(
    Object.entries(bases).map(([name, base]) => {
      const peft = getPeftModel(base, { peftType: 'LORA', r: 16, loraAlpha: 32, targetModules: ['q_proj', 'v_proj'] });
      peft.train();
      const vocab = (base.config as { vocab_size: number }).vocab_size;
      return [name, lmTrainStep(peft as never, vocab, 1, PROMPT)];
    }),
  );
  const times: Record<string, { s: number; cpu: number }[]> = { q4k: [], bf16: [] };
  for (const s of Object.values(steps)) s.step(); // warm-up
  for (let r = 0; r < TRAIN_STEPS; r++) {
    for (const [name, s] of Object.entries(steps))
      times[name]!.push(
        await measured(() => {
          s.step();
        }),
      );
  }
  const tokS = (name: string) => round(PROMPT / median(times[name]!.map((x) => x.s)));
  emit('gguf-speed-train', {
    what: `LoRA r16 q/v, batch 1 x ${PROMPT} tokens, AdamW`,
    threads,
    steps: TRAIN_STEPS,
    q4k_tok_s: tokS('q4k'),
    bf16_tok_s: tokS('bf16'),
    q4k_cpu_s_per_thread: round(median(times.q4k!.map((x) => x.cpu))),
    bf16_cpu_s_per_thread: round(median(times.bf16!.map((x) => x.cpu))),
    ratio: round(tokS('q4k') / tokS('bf16'), 3),
  });
}
