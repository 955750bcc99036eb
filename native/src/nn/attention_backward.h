// Flash attention backward: each task takes one head (b, h), recomputes the attention weights tile
// by tile from the saved lse, and accumulates dv = P^T dO, dk = dS^T q, dq = dS k (keys in the
// outer loop, so dk and dv stay in local tiles). Query heads that share a kv head write their dk,
// dv to separate slices that are then summed in a fixed order: no races, same bits every run.
#pragma once
#include <cmath>

#include "nn/attention_tiles.h"
#include "nn/buffer.h"
#include "nn/parallel.h"

namespace peftjs::nn {
namespace {

// For one key: p = exp(s - lse); s <- p (the weight), dp <- p * (dp - delta) (the score gradient).
template <typename T>
void weight_grads(T* __restrict s, T* __restrict dp, const T* __restrict lse, const T* __restrict delta, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T p = vexp(s[i] - lse[i]);
    s[i] = p;
    dp[i] = p * (dp[i] - delta[i]);
  }
}

// The same under dropout with keep factor f: s <- p * f, dp <- p * (dp * f - delta).
template <typename T>
void weight_grads_dropout(T* __restrict s, T* __restrict dp, const T* __restrict lse, const T* __restrict delta,
                          int64_t n, int64_t q0, uint32_t row, uint32_t threshold, T keep_scale) {
  for (int64_t i = 0; i < n; ++i) {
    const T p = vexp(s[i] - lse[i]);
    const T f = keep_factor(row, q0 + i, threshold, keep_scale);
    s[i] = p * f;
    dp[i] = p * (dp[i] * f - delta[i]);
  }
}

// Copies n rows of D elements from a padded local tile (row length ld) to a [n, D] destination.
template <typename T>
void store_rows(const T* src, int64_t ld, int64_t n, int64_t D, T* dst) {
  for (int64_t r = 0; r < n; ++r) std::copy(src + r * ld, src + r * ld + D, dst + r * D);
}

// Scratch of one worker, in elements.
inline int64_t backward_scratch(int64_t Tq, int64_t D) {
  const int64_t ld = round_up(D, kPadTo), blocks = (Tq + kBq - 1) / kBq;
  return 2 * blocks * D * kBq + Tq * ld + 2 * round_up(Tq, kPadTo) + 2 * kBk * kBq + 2 * kBk * ld;
}

// Head (b, h): writes its dq to gq and its dk, dv ([Tk, D]) to gk_head, gv_head; adds to g_bias.
template <typename T, typename Gemm>
void backward_head(const AttnConfig& c, const AttnBuffers<T>& io, int64_t b, int64_t h, T* gk_head, T* gv_head,
                   T* scratch) {
  const int64_t D = c.D, ld = round_up(D, kPadTo), Tq = c.Tq, blocks = (Tq + kBq - 1) / kBq;
  const Head<T> hd(c, io, b, h);
  const Visibility vis(c);
  const Dropout<T> drop(c);
  const int64_t row0 = (b * c.Hq + h) * Tq;
  const T* out = io.out + row0 * D;
  const T* g_out = io.g_out + row0 * D;
  T* g_bias = io.g_bias == nullptr ? nullptr : io.g_bias + Head<T>::bias_slice(c, b, h) * Tq * c.Tk;
  T* qt = scratch;                          // [blocks][D][kBq] queries, transposed per block
  T* got = qt + blocks * D * kBq;           // [blocks][D][kBq] output gradients, transposed per block
  T* dq = got + blocks * D * kBq;           // [Tq][ld]
  T* delta = dq + Tq * ld;                  // [Tq] rowsum(g_out * out)
  T* lse = delta + round_up(Tq, kPadTo);    // [Tq] saved lse, +inf where every key is masked (weights 0)
  T* st = lse + round_up(Tq, kPadTo);       // [kBk][kBq] scores, then weights
  T* dst = st + kBk * kBq;                  // [kBk][kBq] weight gradients, then score gradients
  T* dk = dst + kBk * kBq;                  // [kBk][ld]
  T* dv = dk + kBk * ld;                    // [kBk][ld]
  for (int64_t q0 = 0; q0 < Tq; q0 += kBq) {
    const int64_t nq = std::min(kBq, Tq - q0), nq_pad = round_up(nq, 8);
    pack_transposed(hd.q + q0 * D, nq, nq_pad, D, qt + q0 * D);
    pack_transposed(g_out + q0 * D, nq, nq_pad, D, got + q0 * D);
  }
  for (int64_t i = 0; i < Tq; ++i) {
    delta[i] = lane_sum<T>(D, [&](int64_t d) { return g_out[i * D + d] * out[i * D + d]; });
    const T saved = io.lse[row0 + i];
    lse[i] = saved == -kInf<T> ? kInf<T> : saved;
  }
  std::fill(dq, dq + Tq * ld, T(0));
  const T scale = static_cast<T>(c.scale);
  for (int64_t k0 = 0; k0 < c.Tk; k0 += kBk) {
    const int64_t nk = std::min(kBk, c.Tk - k0);
    std::fill(dk, dk + nk * ld, T(0));
    std::fill(dv, dv + nk * ld, T(0));
    const int64_t q_end = vis.query_end(k0 + nk - 1);
    for (int64_t q0 = vis.query_begin(k0) / kBq * kBq; q0 < q_end; q0 += kBq) {
      const int64_t nq = std::min(kBq, Tq - q0), nq_pad = round_up(nq, 8);
      Gemm::run(nk, nq_pad, D, hd.k + k0 * D, D, 1, qt + q0 * D, kBq, st, kBq, false);
      make_scores(c, vis, hd, st, q0, nq, k0, nk);
      Gemm::run(nk, nq_pad, D, hd.v + k0 * D, D, 1, got + q0 * D, kBq, dst, kBq, false);
      for (int64_t j = 0; j < nk; ++j) {
        if (drop.on) {
          weight_grads_dropout(st + j * kBq, dst + j * kBq, lse + q0, delta + q0, nq, q0,
                               drop.row(hd.index, c.Tk, k0 + j), drop.threshold, drop.keep_scale);
        } else {
          weight_grads(st + j * kBq, dst + j * kBq, lse + q0, delta + q0, nq);
        }
      }
      if (g_bias != nullptr) {
        for (int64_t i = 0; i < nq; ++i) {
          T* gb = g_bias + (q0 + i) * c.Tk + k0;
          for (int64_t j = 0; j < nk; ++j) gb[j] += dst[j * kBq + i];
        }
      }
      if (scale != T(1)) {
        for (int64_t j = 0; j < nk; ++j) scale_span(dst + j * kBq, nq, scale);
      }
      Gemm::run(nk, D, nq, st, kBq, 1, g_out + q0 * D, D, dv, ld, true);
      Gemm::run(nk, D, nq, dst, kBq, 1, hd.q + q0 * D, D, dk, ld, true);
      Gemm::run(nq, D, nk, dst, 1, kBq, hd.k + k0 * D, D, dq + q0 * ld, ld, true);
    }
    store_rows(dk, ld, nk, D, gk_head + k0 * D);
    store_rows(dv, ld, nk, D, gv_head + k0 * D);
  }
  store_rows(dq, ld, Tq, D, io.gq + row0 * D);
}

template <typename T, typename Gemm>
void flash_backward(const AttnConfig& c, const AttnBuffers<T>& io) {
  const int64_t group = c.Hq / c.Hkv, kv_size = c.Tk * c.D, heads = c.B * c.Hq;
  // Under grouped-query attention each query head's dk, dv go to their own slice first.
  Buffer<T> per_head(group > 1 ? 2 * heads * kv_size : 0);
  // When g_bias is broadcast, the heads that add into one bias slice form one task.
  const bool shared_bias = io.g_bias != nullptr && ((c.bias_b == 1 && c.B > 1) || (c.bias_h == 1 && c.Hq > 1));
  const int64_t tasks = shared_bias ? c.bias_b * c.bias_h : heads;
  const int64_t workers = workers_for(tasks), per_worker = backward_scratch(c.Tq, c.D);
  Buffer<T> scratch(workers * per_worker);
  auto head = [&](int64_t b, int64_t h, T* s) {
    const int64_t kv = b * c.Hkv + h / group, q_head = b * c.Hq + h;
    T* gk = group > 1 ? per_head.get() + q_head * kv_size : io.gk + kv * kv_size;
    T* gv = group > 1 ? per_head.get() + (heads + q_head) * kv_size : io.gv + kv * kv_size;
    backward_head<T, Gemm>(c, io, b, h, gk, gv, s);
  };
  run_tasks(tasks, workers, [&](int64_t t, int64_t w) {
    T* s = scratch.get() + w * per_worker;
    if (!shared_bias) return head(t / c.Hq, t % c.Hq, s);
    for (int64_t b = 0; b < c.B; ++b) {
      for (int64_t h = 0; h < c.Hq; ++h) {
        if (Head<T>::bias_slice(c, b, h) == t) head(b, h, s);
      }
    }
  });
  if (group == 1) return;
  parallel_for(c.B * c.Hkv, [&](int64_t kv) {
    for (int which = 0; which < 2; ++which) {
      T* dst = (which == 0 ? io.gk : io.gv) + kv * kv_size;
      const T* src = per_head.get() + (which * heads + kv * group) * kv_size;
      std::copy(src, src + kv_size, dst);
      for (int64_t g = 1; g < group; ++g) {
        for (int64_t e = 0; e < kv_size; ++e) dst[e] += src[g * kv_size + e];
      }
    }
  });
}

}  // namespace
}  // namespace peftjs::nn
