// Flash attention over contiguous buffers: q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D], out like q,
// lse [B, Hq, Tq]. Grouped-query heads: query head h reads kv head h / (Hq / Hkv). The forward pass
// also reads k and v with their heads kv_rows >= Tk rows apart (a KV cache with room to grow).
#pragma once
#include <cstdint>

namespace peftjs::nn {

struct AttnConfig {
  int64_t B, Hq, Hkv, Tq, Tk, D;
  double scale;            // score = scale * q.k + bias
  bool causal;             // query i sees key j only if j <= i + (Tk - Tq)
  int64_t window;          // > 0: and only if j > i + (Tk - Tq) - window
  int64_t bias_b, bias_h;  // bias is [bias_b, bias_h, Tq, Tk], bias_b in {1, B}, bias_h in {1, Hq}
  double dropout;          // probability in [0, 1) of dropping an attention weight
  uint32_t seed;           // the dropout mask is a hash of (seed, b, h, i, j): backward regenerates it
  int64_t kv_rows;         // rows from one k/v head to the next: Tk, or more in the forward pass
};

template <typename T>
struct AttnBuffers {
  const T *q, *k, *v;
  const T* bias;            // null: no bias
  const uint8_t* key_mask;  // [B, Tk], 0 = masked; null: none
  T *out, *lse;             // written by forward, read by backward
  const T* g_out;           // backward: the gradient of out
  T *gq, *gk, *gv;          // backward: overwritten
  T* g_bias;                // backward, or null: dScores summed to bias's shape, added
};

// out, and lse = logsumexp of each query's scores; a query with every key masked gets out = 0 and
// lse = -inf.
template <typename T>
void attention_forward(const AttnConfig& c, const AttnBuffers<T>& io);

// gq, gk, gv (and g_bias) from g_out, recomputing the attention weights tile by tile from lse.
template <typename T>
void attention_backward(const AttnConfig& c, const AttnBuffers<T>& io);

// The same built with AVX2 + FMA (avx2/attention_avx2.cc): call only when simd_level() >= Avx2.
void attention_forward_avx2(const AttnConfig& c, const AttnBuffers<float>& io);
void attention_forward_avx2(const AttnConfig& c, const AttnBuffers<double>& io);
void attention_backward_avx2(const AttnConfig& c, const AttnBuffers<float>& io);
void attention_backward_avx2(const AttnConfig& c, const AttnBuffers<double>& io);

}  // namespace peftjs::nn
