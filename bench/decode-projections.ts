// Batch-1 greedy decode of a GGUF file with dense matrices (F32 or BF16, SmolLM2-135M's shape from the
// llama.cpp anchor) with the decode paths' fused projections (one gemmNkMany job for a layer's q/k/v
// and one for gate/up) against one gemm call per projection, the two alternated generate by generate
// in one process (the outputs are the same bits either way). Per variant: the median tokens/s of the
// timed tokens after each prompt (the first NEW tokens after a 128-token prompt), and the ratio.
// Usage: node --import tsx bench/decode-projections.ts --file .scratch/models/smollm2-135m/model-F32.gguf
//        [--new 32] [--rounds 8]   (make the file with ../shared/anchors/llamacpp/make_models.py)
import { AutoModelForCausalLM, native, tensor, tidy, type Tensor } from '../src/index.js';
import { arg, emit, round } from './lib/report.js';

const FILE = arg('file') ?? '.scratch/models/smollm2-135m/model-F32.gguf';
const NEW = Number(arg('new') ?? 32);
const ROUNDS = Number(arg('rounds') ?? 8);

const fused = native.gemmNkMany;
if (fused === undefined) throw new Error('this backend has no gemmNkMany: nothing to compare');
const model = (await AutoModelForCausalLM.fromPretrained(FILE)) as unknown as {
  generate(ids: Tensor, options: Record<string, unknown>): Tensor;
};
const input = tensor([Array.from({ length: 128 }, (_, i) => 300 + i * 7)], [1, 128], 'int64');

/** Tokens/s of the NEW tokens after the prompt's forward. */
function decode(): number {
  let first = 0;
  let last = 0;
  const onToken = (_: unknown, step: number) => {
    if (step === 0) first = performance.now();
    else last = performance.now();
  };
  tidy(() => model.generate(input, { maxNewTokens: NEW + 1, doSample: false, eosTokenId: [], onToken })).dispose();
  return NEW / ((last - first) / 1000);
}

const rates: Record<'fused' | 'separate', number[]> = { fused: [], separate: [] };
decode(); // warm-up
for (let r = 0; r < 2 * ROUNDS; r++) {
  const variant = r % 2 === 0 ? 'fused' : 'separate';
  native.gemmNkMany = variant === 'fused' ? fused : undefined;
  rates[variant].push(decode());
}
native.gemmNkMany = fused;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
emit('decode_projections', {
  file: FILE.split('/').at(-1),
  new_tokens: NEW,
  rounds: ROUNDS,
  threads: native.numThreads(),
  simd: native.simdLevel(),
  fused_tok_s: round(median(rates.fused)),
  separate_tok_s: round(median(rates.separate)),
  ratio: round(median(rates.fused) / median(rates.separate), 3),
});
