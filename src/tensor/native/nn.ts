// Declarations of the fused neural-network kernels (native/src/nn/). Every buffer is contiguous
// and row-major and holds exactly the elements its sizes say (else RangeError). Float buffers of
// one call are all Float32Array or all Float64Array (the kernel runs in that precision); index
// buffers are Int32Array or BigInt64Array. "rows" is the product of the leading dims, "cols" the
// last. Outputs must not overlap inputs (except adamw, which updates in place).

export type FloatArray = Float32Array | Float64Array;
export type IndexArray = Int32Array | BigInt64Array;

export interface NnKernels {
  /** y = softmax(x) over the last dim. */
  softmaxForward<F extends FloatArray>(x: F, y: F, rows: number, cols: number): void;
  /** gx = y * (gy - sum(gy * y)) per row (y = the softmax output). */
  softmaxBackward<F extends FloatArray>(y: F, gy: F, gx: F, rows: number, cols: number): void;
  /** y = x - logsumexp(x) over the last dim. */
  logSoftmaxForward<F extends FloatArray>(x: F, y: F, rows: number, cols: number): void;
  /** gx = gy - exp(y) * sum(gy) per row (y = the log-softmax output). */
  logSoftmaxBackward<F extends FloatArray>(y: F, gy: F, gx: F, rows: number, cols: number): void;

  /** y = (x - mean) * rstd * weight + bias per row; writes mean and rstd = 1/sqrt(var + eps) [rows]. */
  layerNormForward<F extends FloatArray>(
    x: F,
    weight: F | null,
    bias: F | null,
    y: F,
    mean: F,
    rstd: F,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** gx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = gy * weight; gw += sum(gy * xhat), gb += sum(gy) over rows. Null outputs are skipped. */
  layerNormBackward<F extends FloatArray>(
    gy: F,
    x: F,
    weight: F | null,
    mean: F,
    rstd: F,
    gx: F | null,
    gw: F | null,
    gb: F | null,
    rows: number,
    cols: number,
  ): void;
  /** y = weight * x * rstd with rstd = 1/sqrt(mean(x^2) + eps) per row (HF Llama / T5); writes rstd [rows]. */
  rmsNormForward<F extends FloatArray>(
    x: F,
    weight: F | null,
    y: F,
    rstd: F,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** gx = rstd * (g - xhat * mean(g * xhat)), g = gy * weight, xhat = x * rstd; gw += sum(gy * xhat) over rows. */
  rmsNormBackward<F extends FloatArray>(
    gy: F,
    x: F,
    weight: F | null,
    rstd: F,
    gx: F | null,
    gw: F | null,
    rows: number,
    cols: number,
  ): void;

  /** Per-row loss = (1-ε)(lse - x[t]) + ε(lse - mean(x)) (0 where t == ignoreIndex) and lse = logsumexp(x); throws RangeError on a target outside [0, classes). */
  crossEntropyForward<F extends FloatArray>(
    logits: F,
    targets: IndexArray,
    losses: F,
    lse: F,
    rows: number,
    classes: number,
    ignoreIndex: number,
    labelSmoothing: number,
  ): void;
  /** gx = gLoss[row] * (softmax(x) - (1-ε) onehot(t) - ε/classes), 0 on ignored rows; the caller's mean/sum reduction goes into gLoss. */
  crossEntropyBackward<F extends FloatArray>(
    logits: F,
    targets: IndexArray,
    lse: F,
    gLoss: F,
    gx: F,
    rows: number,
    classes: number,
    ignoreIndex: number,
    labelSmoothing: number,
  ): void;

  /**
   * Flash attention: out = dropout(softmax(scale * q k^T + bias + masks)) v, never storing a T x T matrix.
   * q, out [B, Hq, Tq, D]; k, v [B, Hkv, Tk, D] (query head h uses kv head h / (Hq / Hkv)); lse [B, Hq, Tq].
   * Query i sees key j iff j <= i + (Tk - Tq) when causal, j > i + (Tk - Tq) - window when window > 0,
   * and keyMask[b, j] != 0 (keyMask Uint8Array [B, Tk] or null). bias [biasB, biasH, Tq, Tk] (biasB 1 or B,
   * biasH 1 or Hq) or null. A query that sees no key gets out = 0, lse = -Infinity.
   * Dropout keeps weight (b, h, i, j) iff (fmix32(row + i * 0x27D4EB2F) >>> 1) >= floor(dropoutP * 2^31), with
   * row = fmix32(seed ^ fmix32(((b * Hq + h) * Tk + j) * 0x9E3779B9 + 0x7F4A7C15)), fmix32 = murmur3's finaliser,
   * all uint32 arithmetic; kept weights are scaled by 1 / (1 - dropoutP). dropoutP in [0, 1), seed a uint32.
   * k and v may hold their heads kvRows >= Tk rows apart (a KV cache with room to grow): they then have
   * (B * Hkv - 1) * kvRows * D + Tk * D elements, head (b, g) starting at row (b * Hkv + g) * kvRows.
   */
  attentionForward<F extends FloatArray>(
    q: F,
    k: F,
    v: F,
    bias: F | null,
    keyMask: Uint8Array | null,
    out: F,
    lse: F,
    B: number,
    Hq: number,
    Hkv: number,
    Tq: number,
    Tk: number,
    D: number,
    scale: number,
    causal: boolean,
    window: number,
    biasB: number,
    biasH: number,
    dropoutP: number,
    seed: number,
    kvRows: number,
  ): void;
  /** Gradients of attentionForward (same options, same seed; k and v packed, kvRows = Tk): overwrites gq, gk, gv; adds dScores summed to bias's shape into gBias (or null). */
  attentionBackward<F extends FloatArray>(
    q: F,
    k: F,
    v: F,
    bias: F | null,
    keyMask: Uint8Array | null,
    out: F,
    lse: F,
    gOut: F,
    gq: F,
    gk: F,
    gv: F,
    gBias: F | null,
    B: number,
    Hq: number,
    Hkv: number,
    Tq: number,
    Tk: number,
    D: number,
    scale: number,
    causal: boolean,
    window: number,
    biasB: number,
    biasH: number,
    dropoutP: number,
    seed: number,
  ): void;

  /**
   * The serve engine's paged KV pool (per layer [numBlocks, kvHeads, blockSize, D], a Float32Array or a
   * Uint16Array of bfloat16 bits): row r's position p is in block blocks[r * maxBlocks + p / blockSize]
   * (blocks Int32Array [rows, maxBlocks]), and it has cached[r] positions before the `fresh` new ones.
   * pagedKvWrite copies x [rows, kvHeads, fresh, D] (the pool's type) into positions [cached[r], cached[r] + fresh).
   */
  pagedKvWrite(pool: Float32Array | Uint16Array, x: Float32Array | Uint16Array, blocks: Int32Array, cached: Int32Array,
    rows: number, kvHeads: number, fresh: number, D: number, blockSize: number, maxBlocks: number): void;
  /** out [rows, kvHeads, width, D] (the pool's type): each row's positions [0, cached[r] + fresh) right-aligned, zeros before. */
  pagedKvGather(pool: Float32Array | Uint16Array, out: Float32Array | Uint16Array, blocks: Int32Array, cached: Int32Array,
    rows: number, kvHeads: number, fresh: number, D: number, blockSize: number, maxBlocks: number, width: number): void;
  /**
   * out [rows, Hq, fresh, D] = causal softmax(scale * q kᵀ) v from the pool (no gather), q float32 like out; query i
   * of row r sits at position cached[r] + i and sees keys (p - window, p] (window 0: all before it).
   */
  /**
   * Grouped LoRA (Punica's SGMV): for each segment s, out[row] += ((x[row] loraA[s]ᵀ) * scales[s]) loraB[s]ᵀ
   * for the batch rows rows[starts[s]..starts[s+1]); x [batch, T, in] and out [batch, T, outFeatures]
   * float32, loraA[s] [ranks[s], in] and loraB[s] [outFeatures, ranks[s]] float32 or bf16 bits.
   * Native backend only (lora/bind_sgmv.cc).
   */
  sgmvLora?(x: Float32Array, out: Float32Array, batch: number, T: number, inFeatures: number, outFeatures: number, rows: Int32Array,
    starts: Int32Array, ranks: Int32Array, scales: Float32Array, loraA: (Float32Array | Uint16Array)[], loraB: (Float32Array | Uint16Array)[]): void;

  pagedAttention(q: Float32Array, keys: Float32Array | Uint16Array, values: Float32Array | Uint16Array, blocks: Int32Array,
    cached: Int32Array, out: Float32Array, rows: number, kvHeads: number, fresh: number, D: number, blockSize: number,
    maxBlocks: number, Hq: number, scale: number, window: number): void;

  /** out = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[D/2:], x[:D/2]); x [B, H, T, D], cos/sin [cosBatch, T, D], cosBatch 1 or B, D even. */
  ropeForward<F extends FloatArray>(
    x: F,
    cos: F,
    sin: F,
    out: F,
    B: number,
    H: number,
    T: number,
    D: number,
    cosBatch: number,
  ): void;
  /** gx = the transposed rotation of gOut (same layout as ropeForward). */
  ropeBackward<F extends FloatArray>(
    gOut: F,
    cos: F,
    sin: F,
    gx: F,
    B: number,
    H: number,
    T: number,
    D: number,
    cosBatch: number,
  ): void;

  /** One PyTorch AdamW step in place over n elements: p *= 1 - lr*wd, then Adam with bias corrections for `step` (1-based). */
  adamw<F extends FloatArray>(
    param: F,
    grad: F,
    m: F,
    v: F,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
}
