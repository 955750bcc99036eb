// Attention for a few queries against many keys (decoding: the new token against a KV cache). The
// flash loop pads its queries to a block and tiles the keys for long query runs; with one query per
// head that is mostly overhead, and the step's cost is reading the cached keys and values. Here each
// task takes one query head: the scores of its visible keys in one row, one softmax, one weighted
// sum of the value rows.
#pragma once
#include <algorithm>
#include <cmath>

#include "nn/attention_tiles.h"
#include "nn/buffer.h"
#include "nn/parallel.h"

namespace peftjs::nn {
namespace {

constexpr int64_t kDecodeMaxQueries = 4;  // at most this many queries per head take the decode path

// Whether forward runs decode_forward: few queries and no dropout (training runs the flash loop).
inline bool use_decode(const AttnConfig& c) { return c.Tq <= kDecodeMaxQueries && c.dropout == 0; }

// s[j] = q . k_j for the n rows of k (D wide): four rows at a time in independent lane sums, so the
// compiler vectorises along D and overlaps the rows.
template <typename T>
void dot_rows(const T* q, const T* k, int64_t D, int64_t n, T* s) {
  constexpr int L = 8;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    T acc[4][L] = {};
    int64_t d = 0;
    for (; d + L <= D; d += L)
      for (int r = 0; r < 4; ++r)
        for (int l = 0; l < L; ++l) acc[r][l] += q[d + l] * k[(j + r) * D + d + l];
    for (int r = 0; r < 4; ++r) {
      T sum = 0;
      for (int l = 0; l < L; ++l) sum += acc[r][l];
      for (int64_t e = d; e < D; ++e) sum += q[e] * k[(j + r) * D + e];
      s[j + r] = sum;
    }
  }
  for (; j < n; ++j) s[j] = lane_sum<T>(D, [&](int64_t d) { return q[d] * k[j * D + d]; });
}

// o[0:D] = sum of p[j] * v_j over the n rows of v, in chunks of D held in local accumulators.
template <typename T>
void weighted_rows(const T* p, const T* v, int64_t D, int64_t n, T* o) {
  constexpr int64_t C = 32;
  int64_t d0 = 0;
  for (; d0 + C <= D; d0 += C) {
    T acc[C] = {};
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < C; ++l) acc[l] += p[j] * v[j * D + d0 + l];
    std::copy(acc, acc + C, o + d0);
  }
  for (int64_t d = d0; d < D; ++d) {
    T acc = 0;
    for (int64_t j = 0; j < n; ++j) acc += p[j] * v[j * D + d];
    o[d] = acc;
  }
}

// Queries of head (b, h): out = softmax(scores) v and lse as the flash loop defines them; s holds
// one score per key.
template <typename T>
void decode_head(const AttnConfig& c, const AttnBuffers<T>& io, int64_t b, int64_t h, T* s) {
  const int64_t D = c.D;
  const T scale = static_cast<T>(c.scale);
  const Head<T> hd(c, io, b, h);
  const Visibility vis(c);
  for (int64_t i = 0; i < c.Tq; ++i) {
    const int64_t lo = vis.key_begin(i), n = std::max<int64_t>(0, vis.key_end(i) - lo);
    const int64_t row = (b * c.Hq + h) * c.Tq + i;
    T* o = io.out + row * D;
    dot_rows(hd.q + i * D, hd.k + lo * D, D, n, s);
    for (int64_t j = 0; j < n; ++j) {
      s[j] *= scale;
      if (hd.bias != nullptr) s[j] += hd.bias[i * c.Tk + lo + j];
      if (hd.key_mask != nullptr && hd.key_mask[lo + j] == 0) s[j] = -kInf<T>;
    }
    const T m = lane_max(s, n);
    if (m == -kInf<T>) {  // no visible key: out = 0, lse = -inf
      std::fill(o, o + D, T(0));
      io.lse[row] = -kInf<T>;
      continue;
    }
    for (int64_t j = 0; j < n; ++j) s[j] = vexp(s[j] - m);
    const T l = lane_sum<T>(n, [&](int64_t j) { return s[j]; });
    const T inv = T(1) / l;
    for (int64_t j = 0; j < n; ++j) s[j] *= inv;
    weighted_rows(s, hd.v + lo * D, D, n, o);
    io.lse[row] = m + std::log(l);
  }
}

template <typename T>
void decode_forward(const AttnConfig& c, const AttnBuffers<T>& io) {
  const int64_t tasks = c.B * c.Hq, workers = workers_for(tasks);
  Buffer<T> scores(workers * std::max<int64_t>(c.Tk, 1));
  run_tasks(tasks, workers, [&](int64_t t, int64_t w) {
    decode_head(c, io, t / c.Hq, t % c.Hq, scores.get() + w * std::max<int64_t>(c.Tk, 1));
  });
}

}  // namespace
}  // namespace peftjs::nn
