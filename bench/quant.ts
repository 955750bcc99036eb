// Quantised weights against bf16 weights on the Llama-3.2-1B shapes (hidden 2048, 16 layers, 32 query
// and 8 key/value heads of 64, intermediate 8192, vocab 128256, tied embeddings), random weights, NF4
// with double quantisation at block 64 (QLoRA's format). Each comparison runs its variants interleaved,
// run by run, in one process; records carry CPU seconds per call per thread beside the wall time.
//  - bandwidth: a streaming read of 512 MB (native streamRead), the ceiling for memory-bound kernels;
//  - qgemm: M = 128 and 512 rows against each linear shape (Llama's and GPT-2's; --only q_proj,... picks), forward y = x·Wᵀ and input gradient
//    gx = gy·W: linear4bit / linear4bitBackward vs the float32 GEMM over bf16 weights (GFLOP/s, ratio);
//  - gemv_chain: one decoded token's products through every linear of the 16 layers (q, k, v, o, gate,
//    up, down; M = 1), NF4 vs bf16, then the same plus the LM head (bf16 in both: transformers keeps the
//    tied head unquantised). Not the whole model: attention, norms and the embedding are left out, so
//    this is the weight-streaming part of a decode step. Tokens/s, bytes read per token, and
//    bytes/s as a fraction of the bandwidth measured in the same alternation;
//  - int8 (--int8): linearInt8 (LLM.int8's int8 × int8 product, VNNI where the CPU has it) vs the bf16
//    GEMM, M = 1 and 128, on q_proj, gate_proj and down_proj.
// Usage: node --import tsx bench/quant.ts [--threads N] [--runs 5] [--layers 16] [--skip-gemm] [--skip-decode]
//        [--only name,name] [--int8]
import { native } from '../src/tensor/native/index.js';
import { floatToBf16 } from '../src/tensor/half.js';
import { DYNAMIC_CODE, NF4_CODE } from '../src/quant/codes.js';
import { quantize4bitNative, quantize8bitNative, quantizeInt8Native } from '../src/quant/kernels.js';
import type { QuantState4 } from '../src/quant/state.js';
import { arg, emit, hasFlag, round } from './lib/report.js';
import { randomFloats, streamBuffer } from './lib/peak.js';

if (arg('threads')) native.setNumThreads(Number(arg('threads')));
const threads = native.numThreads();
const runs = Number(arg('runs') ?? 5);
const layers = Number(arg('layers') ?? 16);
const simd = native.simdLevel();
const hidden = 2048;
const kvDim = 512;
const intermediate = 8192;
const vocab = 128256;

/** [name, out, in] of one decoder layer's linears. */
const LINEARS: [string, number, number][] = [
  ['q_proj', hidden, hidden],
  ['k_proj', kvDim, hidden],
  ['v_proj', kvDim, hidden],
  ['o_proj', hidden, hidden],
  ['gate_proj', intermediate, hidden],
  ['up_proj', intermediate, hidden],
  ['down_proj', hidden, intermediate],
];

/** GPT-2 124M's linears [name, out, in] (Conv1D's weight is stored [in, out]; as a linear it is [out, in]). */
const GPT2_LINEARS: [string, number, number][] = [
  ['gpt2.c_attn', 2304, 768],
  ['gpt2.attn.c_proj', 768, 768],
  ['gpt2.c_fc', 3072, 768],
  ['gpt2.mlp.c_proj', 768, 3072],
];

interface Sample {
  seconds: number;
  cpuPerThread: number;
}

/** Times each variant `runs` times, alternating variants run by run: per-call wall and CPU seconds (medians). */
function interleaved(variants: Record<string, () => void>, inner = 1): Record<string, Sample> {
  const names = Object.keys(variants);
  const samples: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) variants[n]!(); // warm-up
  for (let r = 0; r < runs; r++) {
    for (const n of names) {
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < inner; i++) variants[n]!();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9 / inner;
      const used = process.cpuUsage(cpu);
      samples[n]!.push({ seconds, cpuPerThread: (used.user + used.system) / 1e6 / inner / threads });
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return Object.fromEntries(
    names.map((n) => [
      n,
      {
        seconds: median(samples[n]!.map((s) => s.seconds)),
        cpuPerThread: median(samples[n]!.map((s) => s.cpuPerThread)),
      },
    ]),
  );
}

/** NF4 with double quantisation (bitsandbytes' compress_statistics) of bf16 weight bits, on the native kernels. */
function nf4(bits: Uint16Array, shape: [number, number]): QuantState4 {
  const { packed, absmax } = quantize4bitNative(bits, 64, NF4_CODE, 'bfloat16');
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = Math.fround(sum / absmax.length);
  const nested = quantize8bitNative(
    absmax.map((a) => a - offset),
    256,
    DYNAMIC_CODE,
  );
  return {
    quantType: 'nf4',
    shape,
    blockSize: 64,
    packed,
    code: NF4_CODE,
    absmax: null,
    nested: { codes: nested.codes, code: DYNAMIC_CODE, absmax: nested.absmax, blockSize: 256, offset },
  };
}

function nf4Bytes(w: QuantState4): number {
  const q = w.nested!;
  return w.packed.byteLength + q.codes.byteLength + q.absmax.byteLength;
}

function copyState(w: QuantState4): QuantState4 {
  const q = w.nested!;
  return { ...w, packed: w.packed.slice(), nested: { ...q, codes: q.codes.slice(), absmax: q.absmax.slice() } };
}

const bf16Bits = (n: number) => Uint16Array.from(randomFloats(n), (v) => floatToBf16(v * 0.05));

/** y = x·Wᵀ over bf16 weight bits W [N, K] (the GEMM a frozen bf16 nn.Linear runs). */
function bf16Forward(x: Float32Array, M: number, w: Uint16Array, N: number, K: number, y: Float32Array): void {
  native.gemm(false, true, M, N, K, 1, x, 0, K, 0, w, 0, 1, K, 0, 0, y, 0, N, 0, 1);
}

// ---- bandwidth
const stream = streamBuffer(128 << 20);
const read = interleaved({ stream: () => native.streamRead(stream) });
const bandwidth = stream.byteLength / read.stream!.seconds;
emit('read_bandwidth', {
  bytes: stream.byteLength,
  threads,
  simd,
  gb_per_s: round(bandwidth / 1e9),
  cpu_s_per_thread: round(read.stream!.cpuPerThread),
});

// ---- quantised GEMM vs the bf16-weight GEMM
if (!hasFlag('skip-gemm')) {
  // Every distinct shape: v_proj is k_proj's, o_proj q_proj's, up_proj gate_proj's.
  const gemmShapes = [...LINEARS.filter(([n]) => !['v_proj', 'o_proj', 'up_proj'].includes(n)), ...GPT2_LINEARS];
  for (const [name, N, K] of gemmShapes.filter(([n]) => !arg('only') || arg('only')!.split(',').includes(n))) {
    const bits = bf16Bits(N * K);
    const w4 = nf4(bits, [N, K]);
    for (const M of [128, 512]) {
      const x = randomFloats(M * K);
      const gy = randomFloats(M * N);
      const y = new Float32Array(M * N);
      const gx = new Float32Array(M * K);
      const flops = 2 * M * N * K;
      const fwd = interleaved({
        nf4: () => native.linear4bit(x, M, w4, null, y),
        bf16: () => bf16Forward(x, M, bits, N, K, y),
      });
      const bwd = interleaved({
        nf4: () => native.linear4bitBackward(gy, M, w4, gx),
        bf16: () => native.gemm(false, false, M, K, N, 1, gy, 0, N, 0, bits, 0, 1, K, 0, 0, gx, 0, K, 0, 1),
      });
      for (const [direction, t] of [
        ['forward', fwd],
        ['input_grad', bwd],
      ] as const) {
        emit('qgemm', {
          linear: name,
          m: M,
          n: N,
          k: K,
          direction,
          threads,
          simd,
          nf4_ms: round(t.nf4!.seconds * 1e3),
          bf16_ms: round(t.bf16!.seconds * 1e3),
          nf4_gflops: round(flops / t.nf4!.seconds / 1e9),
          bf16_gflops: round(flops / t.bf16!.seconds / 1e9),
          nf4_cpu_ms_per_thread: round(t.nf4!.cpuPerThread * 1e3),
          bf16_cpu_ms_per_thread: round(t.bf16!.cpuPerThread * 1e3),
          speed_ratio: round(t.bf16!.seconds / t.nf4!.seconds, 3),
          target: 0.9,
        });
      }
    }
  }
}

// ---- one token's GEMV chain through the layers (and the LM head)
if (!hasFlag('skip-decode')) {
  const shapes = LINEARS.map(([, N, K]) => {
    const bits = bf16Bits(N * K);
    return { N, K, bits, w4: nf4(bits, [N, K]) };
  });
  // Every layer its own copy, so that no layer's weights are found in the caches.
  const stack = Array.from({ length: layers }, () =>
    shapes.map((s) => ({ ...s, bits: s.bits.slice(), w4: copyState(s.w4) })),
  );
  const head = new Uint16Array(vocab * hidden);
  for (let i = 0; i < head.length; i += shapes[4]!.bits.length)
    head.set(shapes[4]!.bits.subarray(0, Math.min(shapes[4]!.bits.length, head.length - i)), i);
  const x = randomFloats(intermediate);
  const y = new Float32Array(vocab);
  const chain = (quantised: boolean) => () => {
    for (const layer of stack) {
      for (const s of layer) {
        if (quantised) native.linear4bit(x.subarray(0, s.K), 1, s.w4, null, y.subarray(0, s.N));
        else bf16Forward(x.subarray(0, s.K), 1, s.bits, s.N, s.K, y.subarray(0, s.N));
      }
    }
  };
  const lmHead = () => bf16Forward(x.subarray(0, hidden), 1, head, vocab, hidden, y);
  // The bandwidth again, alternated with the chains: on a shared machine it moves with the load.
  const t = interleaved({
    stream: () => native.streamRead(stream),
    nf4: chain(true),
    bf16: chain(false),
    nf4_with_head: () => (chain(true)(), lmHead()),
    bf16_with_head: () => (chain(false)(), lmHead()),
  });
  const layerBytes = { nf4: 0, bf16: 0 };
  for (const s of shapes) {
    layerBytes.nf4 += nf4Bytes(s.w4) * layers;
    layerBytes.bf16 += s.bits.byteLength * layers;
  }
  const headBytes = head.byteLength;
  const chainBandwidth = stream.byteLength / t.stream!.seconds;
  for (const withHead of [false, true]) {
    const n = t[withHead ? 'nf4_with_head' : 'nf4']!;
    const b = t[withHead ? 'bf16_with_head' : 'bf16']!;
    const nBytes = layerBytes.nf4 + (withHead ? headBytes : 0);
    const bBytes = layerBytes.bf16 + (withHead ? headBytes : 0);
    emit('gemv_chain', {
      model: 'llama-3.2-1B shape, linears only',
      layers,
      lm_head: withHead ? 'bf16' : 'none',
      threads,
      simd,
      nf4_tokens_per_s: round(1 / n.seconds),
      bf16_tokens_per_s: round(1 / b.seconds),
      speed_ratio: round(b.seconds / n.seconds, 3),
      nf4_mb_per_token: round(nBytes / 1e6),
      bf16_mb_per_token: round(bBytes / 1e6),
      nf4_fraction_of_bandwidth: round(nBytes / n.seconds / chainBandwidth, 3),
      bf16_fraction_of_bandwidth: round(bBytes / b.seconds / chainBandwidth, 3),
      nf4_cpu_ms_per_thread: round(n.cpuPerThread * 1e3),
      bf16_cpu_ms_per_thread: round(b.cpuPerThread * 1e3),
      bandwidth_gb_per_s: round(chainBandwidth / 1e9),
      targets: 'nf4 >= 0.7 of bandwidth; >= 2.5x bf16 tokens/s',
    });
  }
}

// ---- int8 (LLM.int8 without outliers: activations quantised, int8 × int8 products) vs bf16 weights
if (hasFlag('int8')) {
  for (const [name, N, K] of LINEARS.filter(([n]) => ['q_proj', 'gate_proj', 'down_proj'].includes(n))) {
    const bits = bf16Bits(N * K);
    const w8 = quantizeInt8Native(bits, N, K, 'bfloat16');
    for (const M of [1, 128]) {
      const x = randomFloats(M * K);
      const y = new Float32Array(M * N);
      const t = interleaved({
        int8: () => native.linearInt8(x, M, w8, null, y),
        bf16: () => bf16Forward(x, M, bits, N, K, y),
      });
      emit('int8_linear', {
        linear: name,
        m: M,
        n: N,
        k: K,
        threads,
        simd,
        int8_ms: round(t.int8!.seconds * 1e3),
        bf16_ms: round(t.bf16!.seconds * 1e3),
        int8_gops: round((2 * M * N * K) / t.int8!.seconds / 1e9),
        bf16_gflops: round((2 * M * N * K) / t.bf16!.seconds / 1e9),
        int8_cpu_ms_per_thread: round(t.int8!.cpuPerThread * 1e3),
        bf16_cpu_ms_per_thread: round(t.bf16!.cpuPerThread * 1e3),
        speed_ratio: round(t.bf16!.seconds / t.int8!.seconds, 3),
      });
    }
  }
}
