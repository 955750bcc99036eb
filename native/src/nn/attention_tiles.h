// The parts of flash attention shared by forward and backward: which keys a query sees, the score
// tile, the dropout hash, operand packing. A score tile is stored transposed, st[j * kBq + i] for
// key j and query i, so per-query state and every elementwise step run along contiguous memory.
// Built once per instruction set (see vec_math.h for why everything is in an unnamed namespace).
#pragma once
#include <algorithm>
#include <cstdint>

#include "nn/attention.h"
#include "nn/vec_math.h"

namespace peftjs::nn {
namespace {

constexpr int64_t kBq = 64;     // queries per block: the columns of a score tile
constexpr int64_t kBk = 64;     // keys per tile: the rows of a score tile
constexpr int64_t kPadTo = 16;  // local row lengths are rounded up to a multiple of this

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Causal and sliding-window limits, with the queries aligned to the last Tq keys.
struct Visibility {
  int64_t Tq, Tk, off, window;
  bool causal;
  explicit Visibility(const AttnConfig& c)
      : Tq(c.Tq), Tk(c.Tk), off(c.Tk - c.Tq), window(c.window), causal(c.causal) {}
  // Query i sees keys [key_begin(i), key_end(i)).
  int64_t key_begin(int64_t i) const { return window > 0 ? std::clamp<int64_t>(i + off - window + 1, 0, Tk) : 0; }
  int64_t key_end(int64_t i) const { return causal ? std::clamp<int64_t>(i + off + 1, 0, Tk) : Tk; }
  // Key j is seen by queries [query_begin(j), query_end(j)).
  int64_t query_begin(int64_t j) const { return causal ? std::clamp<int64_t>(j - off, 0, Tq) : 0; }
  int64_t query_end(int64_t j) const { return window > 0 ? std::clamp<int64_t>(j - off + window, 0, Tq) : Tq; }
};

// One (batch, query head): its q, k, v rows and its slices of the bias and the key mask.
template <typename T>
struct Head {
  const T *q, *k, *v, *bias;
  const uint8_t* key_mask;
  uint32_t index;  // b * Hq + h
  Head(const AttnConfig& c, const AttnBuffers<T>& io, int64_t b, int64_t h) {
    const int64_t kv = b * c.Hkv + h / (c.Hq / c.Hkv);
    q = io.q + (b * c.Hq + h) * c.Tq * c.D;
    k = io.k + kv * c.kv_rows * c.D;
    v = io.v + kv * c.kv_rows * c.D;
    bias = io.bias == nullptr ? nullptr : io.bias + bias_slice(c, b, h) * c.Tq * c.Tk;
    key_mask = io.key_mask == nullptr ? nullptr : io.key_mask + b * c.Tk;
    index = static_cast<uint32_t>(b * c.Hq + h);
  }
  // Which [Tq, Tk] slice of the bias (or of its gradient) head (b, h) uses.
  static int64_t bias_slice(const AttnConfig& c, int64_t b, int64_t h) {
    return (c.bias_b == 1 ? 0 : b) * c.bias_h + (c.bias_h == 1 ? 0 : h);
  }
};

// Dropout as a pure function of (seed, b, h, i, j), all in uint32 arithmetic: weight (i, j) of head
// index b * Hq + h is kept iff (fmix32(row + i * 0x27D4EB2F) >> 1) >= floor(p * 2^31), where
// row = fmix32(seed ^ fmix32((index * Tk + j) * 0x9E3779B9 + 0x7F4A7C15)); kept weights are scaled
// by 1 / (1 - p).
template <typename T>
struct Dropout {
  bool on;
  uint32_t seed, threshold;
  T keep_scale;
  explicit Dropout(const AttnConfig& c)
      : on(c.dropout > 0),
        seed(c.seed),
        threshold(static_cast<uint32_t>(c.dropout * 2147483648.0)),
        keep_scale(static_cast<T>(1 / (1 - c.dropout))) {}
  uint32_t row(uint32_t head, int64_t Tk, int64_t j) const {
    return fmix32(seed ^ fmix32(static_cast<uint32_t>(head * Tk + j) * 0x9E3779B9u + 0x7F4A7C15u));
  }
};

// keep_scale where the weight of query q in this key's row is kept, else 0.
template <typename T>
inline T keep_factor(uint32_t row, int64_t q, uint32_t threshold, T keep_scale) {
  return pick((fmix32(row + static_cast<uint32_t>(q) * 0x27D4EB2Fu) >> 1) >= threshold, keep_scale, T(0));
}

// dst[d * kBq + i] = src[i * D + d] for i < n, and 0 up to n_padded.
template <typename T>
void pack_transposed(const T* __restrict src, int64_t n, int64_t n_padded, int64_t D, T* __restrict dst) {
  for (int64_t d = 0; d < D; ++d) {
    T* row = dst + d * kBq;
    for (int64_t i = 0; i < n; ++i) row[i] = src[i * D + d];
    for (int64_t i = n; i < n_padded; ++i) row[i] = 0;
  }
}

template <typename T>
void scale_span(T* __restrict s, int64_t n, T scale) {
  for (int64_t i = 0; i < n; ++i) s[i] *= scale;
}

template <typename T>
void add_strided(T* __restrict s, const T* __restrict src, int64_t stride, int64_t n) {
  for (int64_t i = 0; i < n; ++i) s[i] += src[i * stride];
}

// st[j][i] = k_j . q_i for keys k0 + j, queries q0 + i becomes the score scale * q.k + bias, or -inf
// where the key is padding or outside the causal / sliding window.
template <typename T>
void make_scores(const AttnConfig& c, const Visibility& vis, const Head<T>& hd, T* st, int64_t q0, int64_t nq,
                 int64_t k0, int64_t nk) {
  const T scale = static_cast<T>(c.scale);
  for (int64_t j = 0; j < nk; ++j) {
    T* s = st + j * kBq;
    const int64_t key = k0 + j;
    const int64_t lo = std::clamp<int64_t>(vis.query_begin(key) - q0, 0, nq);
    int64_t hi = std::clamp<int64_t>(vis.query_end(key) - q0, lo, nq);
    if (hd.key_mask != nullptr && hd.key_mask[key] == 0) hi = lo;
    std::fill(s, s + lo, -kInf<T>);
    scale_span(s + lo, hi - lo, scale);
    if (hd.bias != nullptr) add_strided(s + lo, hd.bias + (q0 + lo) * c.Tk + key, c.Tk, hi - lo);
    std::fill(s + hi, s + nq, -kInf<T>);
  }
}

}  // namespace
}  // namespace peftjs::nn
