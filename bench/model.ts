// GPT-2 124M-shaped model (random weights): forward tokens/s and greedy-generation new tokens/s,
// float32 and bf16 weights, batch 1 and 8. The batch-1 forward of the 128-token prompt is the prefill
// of a served request (its time to first token): its fraction of the FMA peak measured here is the
// figure to watch. Anchors (../shared/anchors, 2 cores): PyTorch with
// OpenBLAS decodes 10.2 new tokens/s at batch 1, HF transformers 9.2. Decoding is bound by
// memory bandwidth: every new token streams all weights once.
// Usage: node --import tsx bench/model.ts [--prompt 128] [--new 32] [--prefill-only] [--dtype float32]
//   --prefill-only: only the batch-1 forward of the prompt (the quiet-machine figure).
import { GPT2LMHeadModel, noGrad, randint, tidy, native, type DType } from '../src/index.js';
import { arg, emit, hasFlag, round } from './lib/report.js';
import { time } from './lib/timing.js';
import { measureFmaPeak } from './lib/peak.js';
import { gpt2ForwardFlopsPerToken, gpt2SmallConfig } from './lib/models.js';

const promptLen = Number(arg('prompt') ?? 128);
const newTokens = Number(arg('new') ?? 32);
const prefillOnly = hasFlag('prefill-only');
const dtypes = (arg('dtype')?.split(',') ?? ['float32', 'bfloat16']) as DType[];
const config = gpt2SmallConfig();
const threads = native.numThreads();
const peak = measureFmaPeak(threads);

for (const dtype of dtypes) {
  const model = new GPT2LMHeadModel(config, dtype).eval();
  const weightBytes = model.parameters().reduce((n, p) => n + p.storage.byteLength, 0);
  for (const batch of prefillOnly ? [1] : [1, 8]) {
    const ids = randint(0, config.vocab_size, [batch, promptLen]);
    const runs = batch === 1 ? 7 : 3;
    const cpuStart = process.cpuUsage();
    const fwd = time(() => tidy(() => noGrad(() => model.forward({ inputIds: ids }).logits)), { warmup: 1, runs });
    const cpu = process.cpuUsage(cpuStart);
    const flops = gpt2ForwardFlopsPerToken(config, promptLen / 2) * batch * promptLen;
    // Against the higher of the start's peak and a fresh one (the peak reads low on a busy machine).
    const near = Math.max(peak, measureFmaPeak(threads, 0.1));
    emit(batch === 1 ? 'model_prefill' : 'model_forward', {
      model: 'gpt2-124M', dtype, batch, seq: promptLen, threads,
      seconds: round(fwd.median), min_seconds: round(fwd.min), cpu_seconds_per_thread: round((cpu.user + cpu.system) / 1e6 / (runs + 1) / threads),
      tokens_per_s: round((batch * promptLen) / fwd.median), gflops: round(flops / fwd.median / 1e9),
      peak_gflops: round(near), fraction_of_peak: round(flops / fwd.median / 1e9 / near, 3),
    });
    if (prefillOnly) continue;
    const prompt = randint(0, config.vocab_size, [batch, 32]);
    // The first new token needs the prompt's forward (prefill); the rest are single-token decode steps,
    // timed one by one through onToken.
    const prefills: number[] = [];
    const decode: number[] = [];
    let last = 0;
    const generate = () => {
      last = performance.now();
      model.generate(prompt, {
        maxNewTokens: newTokens, eosTokenId: [],
        onToken: (_, step) => (step === 0 ? prefills : decode).push(-last + (last = performance.now())),
      });
    };
    const gen = time(generate, { warmup: 1, runs: 3 });
    const seconds = gen.median;
    decode.sort((a, b) => a - b);
    prefills.sort((a, b) => a - b);
    emit('model_generate', {
      model: 'gpt2-124M', dtype, batch, prompt: 32, new_tokens: newTokens, threads,
      seconds: round(seconds), new_tokens_per_s: round((batch * newTokens) / seconds),
      prefill_ms: round(prefills[prefills.length >> 1]!), decode_ms_per_step: round(decode[decode.length >> 1]!), decode_min_ms: round(decode[0]!),
      weight_mb: round(weightBytes / 2 ** 20), stream_gb_per_s: round((weightBytes * newTokens) / seconds / 1e9),
    });
  }
}
