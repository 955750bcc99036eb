// Attention for a few queries against many keys (decoding: the new token against a KV cache). The
// flash loop pads its queries to a block and tiles the keys for long query runs; with one query per
// head that is mostly overhead, and the step's cost is reading the cached keys and values. Here each
// task takes one query head: the scores of its visible keys in one row, one softmax, one weighted
// sum of the value rows.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>

#include "nn/attention_tiles.h"
#include "nn/buffer.h"
#include "nn/parallel.h"

namespace peftjs::nn {
namespace {

constexpr int64_t kDecodeMaxQueries = 4;  // at most this many queries per head take the decode path

// Whether forward runs decode_forward: few queries and no dropout (training runs the flash loop).
inline bool use_decode(const AttnConfig& c) { return c.Tq <= kDecodeMaxQueries && c.dropout == 0; }

// L lanes of T as one GCC/Clang vector (each operation lane by lane, so the arithmetic is the
// scalar code's): the instruction set's registers, without intrinsics, in every build.
template <typename T>
struct LanesOf;
template <>
struct LanesOf<float> {
  typedef float type __attribute__((vector_size(8 * sizeof(float))));
};
template <>
struct LanesOf<double> {
  typedef double type __attribute__((vector_size(8 * sizeof(double))));
};
template <typename T, int L>
using Lanes = typename LanesOf<T>::type;  // L = 8, the lanes of the types above

// acc += the lanes at q times the lanes at k (an out-parameter: a vector returned by value warns
// of an ABI change in the builds without AVX).
template <typename V, typename T>
inline void fma_lanes(V& acc, const V& q, const T* k) {
  V kv;
  std::memcpy(&kv, k, sizeof kv);
  acc += q * kv;
}

// One row's lane sums added in lane order, then the elements past the last whole group of lanes.
template <typename T, int L>
T finish_row(const Lanes<T, L>& acc, const T* q, const T* k, int64_t d, int64_t D) {
  T sum = 0;
  for (int l = 0; l < L; ++l) sum += acc[l];
  for (int64_t e = d; e < D; ++e) sum += q[e] * k[e];
  return sum;
}

// s[j, j + R) = q . k_j for R rows k_j = row(j) (D wide), each in its own L lane sums along D.
template <typename T, int R, typename Row>
void dot_row_block(const T* q, const Row& row, int64_t j, int64_t D, T* s) {
  constexpr int L = 8;
  using V = Lanes<T, L>;
  const T* k[R];
  for (int r = 0; r < R; ++r) k[r] = row(j + r);
  V acc[R] = {};
  int64_t d = 0;
  for (; d + L <= D; d += L) {
    V qv;
    std::memcpy(&qv, q + d, sizeof qv);
    for (int r = 0; r < R; ++r) fma_lanes(acc[r], qv, k[r] + d);
  }
  for (int r = 0; r < R; ++r) s[r] = finish_row<T, L>(acc[r], q, k[r], d, D);
}

// s[j] = q . k_j for the n rows k_j = row(j) (D wide): eight rows at a time (float; four for double,
// whose lanes take two registers), so that as many independent chains of fused multiply-adds as the
// registers hold hide their latency. (Written as plain arrays acc[row][lane], GCC vectorised across
// the rows instead, gathering k with inserts and keeping the sums on the stack: ~3x slower.) Each
// score's arithmetic is the same in every block size, and wherever the rows lie (a paged pool's
// blocks or one array); rows past the last whole block of four take lane_sum's order.
template <typename T, typename Row>
void dot_rows_at(const T* q, const Row& row, int64_t D, int64_t n, T* s) {
  constexpr int R = sizeof(T) == 4 ? 8 : 4;
  int64_t j = 0;
  for (; j + R <= n; j += R) dot_row_block<T, R>(q, row, j, D, s + j);
  for (; j + 4 <= n; j += 4) dot_row_block<T, 4>(q, row, j, D, s + j);
  for (; j < n; ++j) {
    const T* k = row(j);
    s[j] = lane_sum<T>(D, [&](int64_t d) { return q[d] * k[d]; });
  }
}

// The same over n rows of D stored one after another at k.
template <typename T>
void dot_rows(const T* q, const T* k, int64_t D, int64_t n, T* s) {
  dot_rows_at(q, [k, D](int64_t j) { return k + j * D; }, D, n, s);
}

// o[d0, d0 + C) = sum of p[j] * v_j[d0, d0 + C) over the n rows v_j = row(j), the C sums in local
// accumulators.
// (Written as vector operations, as dot_row_block is: with plain arrays GCC's contraction of the
// multiply-add into FMAs differed between the contiguous and the paged rows.)
template <typename T, int64_t C, typename Row>
void weighted_chunk(const T* p, const Row& row, int64_t n, int64_t d0, T* o) {
  constexpr int L = 8;
  using V = Lanes<T, L>;
  V acc[C / L] = {};
  for (int64_t j = 0; j < n; ++j) {
    const T* v = row(j) + d0;
    const V pj = V{} + p[j];
    for (int64_t m = 0; m < C / L; ++m) fma_lanes(acc[m], pj, v + m * L);
  }
  std::memcpy(o + d0, acc, sizeof acc);
}

// o[0:D] = sum of p[j] * v_j over the n rows v_j = row(j), in chunks of D. Each chunk's sums are chains
// over j; a float chunk of 64 gives eight independent vector chains where 32 gave four (latency-bound
// at head dim 64). Every output is the same sum in the same order whatever the chunk, and wherever
// the rows lie (a paged pool's blocks or one array).
template <typename T, typename Row>
void weighted_rows_at(const T* p, const Row& row, int64_t D, int64_t n, T* o) {
  constexpr int64_t kWide = sizeof(T) == 4 ? 64 : 32, kNarrow = 32;
  int64_t d0 = 0;
  for (; d0 + kWide <= D; d0 += kWide) weighted_chunk<T, kWide>(p, row, n, d0, o);
  for (; d0 + kNarrow <= D; d0 += kNarrow) weighted_chunk<T, kNarrow>(p, row, n, d0, o);
  for (; d0 + 8 <= D; d0 += 8) weighted_chunk<T, 8>(p, row, n, d0, o);
  if (d0 < D) {  // the last D % 8 columns, zero-padded to one vector
    using V = Lanes<T, 8>;
    V acc = {};
    for (int64_t j = 0; j < n; ++j) {
      T padded[8] = {};
      std::memcpy(padded, row(j) + d0, (D - d0) * sizeof(T));
      fma_lanes(acc, V{} + p[j], padded);
    }
    std::memcpy(o + d0, &acc, (D - d0) * sizeof(T));
  }
}

// The same over n rows of D stored one after another at v.
template <typename T>
void weighted_rows(const T* p, const T* v, int64_t D, int64_t n, T* o) {
  weighted_rows_at(p, [v, D](int64_t j) { return v + j * D; }, D, n, o);
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
