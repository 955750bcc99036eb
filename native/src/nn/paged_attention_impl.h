// The paged attention loop, built once per instruction set (paged_attention.cc, avx2/). One task
// per (row, kv head): its keys and values are converted to float32 into the worker's scratch one
// block at a time, then every query head of the group runs the decode path's arithmetic over them.
#pragma once
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "nn/attention_decode.h"
#include "nn/paged_attention.h"

namespace peftjs::nn {
namespace {

inline float load_kv(float x) { return x; }
inline float load_kv(uint16_t x) {  // bfloat16 bits: the upper half of a float32
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Positions [0, n) of kv head g of row r, as float32 rows of D.
template <typename S>
void gather_rows(const PagedConfig& c, const S* pool, int64_t r, int64_t g, int64_t n, float* dst) {
  for (int64_t p0 = 0; p0 < n; p0 += c.block_size) {
    const S* src = pool + slot(c, r, g, p0);
    const int64_t count = std::min(c.block_size, n - p0) * c.D;
    float* to = dst + p0 * c.D;
    for (int64_t e = 0; e < count; ++e) to[e] = load_kv(src[e]);
  }
}

// The softmax of the scaled scores s[0, n), in place.
inline void softmax_scaled(float* s, int64_t n, float scale) {
  for (int64_t j = 0; j < n; ++j) s[j] *= scale;
  const float m = lane_max(s, n);
  for (int64_t j = 0; j < n; ++j) s[j] = vexp(s[j] - m);
  const float l = lane_sum<float>(n, [&](int64_t j) { return s[j]; });
  const float inv = 1.0f / l;
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
}

// A float32 pool is read where it lies (copying it out was most of a decode step's attention: 16
// rows x 12 heads x 80 positions, 7.9 MB a layer); a bf16 one is converted into the worker's scratch.
template <typename S>
constexpr bool kInPlace = std::is_same_v<S, float>;

// Every query of kv head g's query heads in row r, through a pointer per key and value row (`rows`:
// keys, then values): into the pool, or into the float32 copies k and v (the worker's scratch; s
// holds the scores). The arithmetic is the same wherever the rows lie (dot_rows_at, weighted_rows_at).
template <typename S>
void paged_task(const PagedConfig& c, const S* keys, const S* values, const float* q, float* out, int64_t r, int64_t g,
                float* k, float* v, float* s, const float** rows) {
  const int64_t D = c.D, total = c.cached[r] + c.Tq, group = c.Hq / c.Hkv;
  const float** key_rows = rows;
  const float** value_rows = rows + total;
  if constexpr (!kInPlace<S>) {
    gather_rows(c, keys, r, g, total, k);
    gather_rows(c, values, r, g, total, v);
  }
  for (int64_t p = 0; p < total; ++p) {
    if constexpr (kInPlace<S>) {
      key_rows[p] = keys + slot(c, r, g, p);
      value_rows[p] = values + slot(c, r, g, p);
    } else {
      key_rows[p] = k + p * D;
      value_rows[p] = v + p * D;
    }
  }
  const float scale = static_cast<float>(c.scale);
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    for (int64_t i = 0; i < c.Tq; ++i) {
      const int64_t end = c.cached[r] + i + 1;
      const int64_t lo = c.window > 0 ? std::max<int64_t>(0, end - c.window) : 0, n = end - lo;
      const int64_t row = (r * c.Hq + h) * c.Tq + i;
      dot_rows_at(q + row * D, [key_rows, lo](int64_t j) { return key_rows[lo + j]; }, D, n, s);
      softmax_scaled(s, n, scale);
      weighted_rows_at(s, [value_rows, lo](int64_t j) { return value_rows[lo + j]; }, D, n, out + row * D);
    }
  }
}

template <typename S>
void paged_run(const PagedConfig& c, const S* keys, const S* values, const float* q, float* out) {
  int64_t longest = 1;
  for (int64_t r = 0; r < c.rows; ++r) longest = std::max<int64_t>(longest, c.cached[r] + c.Tq);
  const int64_t rows_per = kInPlace<S> ? 0 : longest * c.D, per = 2 * rows_per + longest;
  const int64_t tasks = c.rows * c.Hkv, workers = workers_for(tasks);
  Buffer<float> scratch(workers * per);
  Buffer<const float*> pointers(workers * 2 * longest);
  run_tasks(tasks, workers, [&](int64_t t, int64_t w) {
    float* k = scratch.get() + w * per;
    paged_task(c, keys, values, q, out, t / c.Hkv, t % c.Hkv, k, k + rows_per, k + 2 * rows_per, pointers.get() + w * 2 * longest);
  });
}

inline void paged_dispatch(const PagedConfig& c, const PagedPool& pool, const float* q, float* out) {
  if (pool.type == KvType::BF16) {
    paged_run(c, static_cast<const uint16_t*>(pool.keys), static_cast<const uint16_t*>(pool.values), q, out);
  } else {
    paged_run(c, static_cast<const float*>(pool.keys), static_cast<const float*>(pool.values), q, out);
  }
}

}  // namespace
}  // namespace peftjs::nn
