// Flash attention forward (Dao et al. 2022, FlashAttention-2's loop order): each task takes a block
// of kBq queries of one head and runs an online softmax over the key tiles those queries can see;
// nothing of size Tq x Tk is stored. Gemm is the tile product of the instruction set being built.
#pragma once
#include <cmath>
#include <limits>

#include "nn/attention_decode.h"
#include "nn/attention_tiles.h"
#include "nn/buffer.h"
#include "nn/parallel.h"

namespace peftjs::nn {
namespace {

// s[i] = exp(s[i] - mu[i]); l[i] += s[i].
template <typename T>
void exp_accumulate(T* __restrict s, const T* __restrict mu, T* __restrict l, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T p = vexp(s[i] - mu[i]);
    s[i] = p;
    l[i] += p;
  }
}

template <typename T>
void max_into(T* __restrict m, const T* __restrict s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) m[i] = m[i] < s[i] ? s[i] : m[i];
}

// Folds a tile of scores into each query's running max m and sum l, rescales its partial output
// acc to the new max, and replaces the scores by exp(score - max).
template <typename T>
void online_softmax(T* st, int64_t nq, int64_t nk, T* m, T* l, T* mu, T* acc, int64_t ld_acc, int64_t D) {
  std::copy(m, m + nq, mu);
  for (int64_t j = 0; j < nk; ++j) max_into(mu, st + j * kBq, nq);
  for (int64_t i = 0; i < nq; ++i) {
    const T m_new = mu[i];
    mu[i] = std::max(m_new, std::numeric_limits<T>::lowest());  // all -inf so far: weights exp(-inf) = 0
    const T alpha = vexp(m[i] - mu[i]);
    m[i] = m_new;
    l[i] *= alpha;
    if (alpha != T(1)) scale_span(acc + i * ld_acc, D, alpha);
  }
  for (int64_t j = 0; j < nk; ++j) exp_accumulate(st + j * kBq, mu, l, nq);
}

template <typename T>
void apply_keep(T* __restrict s, int64_t q0, int64_t n, uint32_t row, uint32_t threshold, T keep_scale) {
  for (int64_t i = 0; i < n; ++i) s[i] *= keep_factor(row, q0 + i, threshold, keep_scale);
}

// Scratch of one worker, in elements.
inline int64_t forward_scratch(int64_t D) { return D * kBq + kBk * kBq + kBq * round_up(D, kPadTo) + 3 * kBq; }

// Queries [q0, q0 + kBq) of head (b, h): out = softmax(scores) v, lse = logsumexp(scores).
template <typename T, typename Gemm>
void forward_block(const AttnConfig& c, const AttnBuffers<T>& io, int64_t b, int64_t h, int64_t q0, T* scratch) {
  const int64_t D = c.D, ld = round_up(D, kPadTo), nq = std::min(kBq, c.Tq - q0), nq_pad = round_up(nq, 8);
  const Head<T> hd(c, io, b, h);
  const Visibility vis(c);
  const Dropout<T> drop(c);
  T* qt = scratch;           // [D][kBq] the block's queries, transposed
  T* st = qt + D * kBq;      // [kBk][kBq] scores, then weights, of one key tile
  T* acc = st + kBk * kBq;   // [nq][ld] unnormalised output
  T* m = acc + kBq * ld;     // running max score of each query
  T* l = m + kBq;            // running sum of exp(score - m)
  T* mu = l + kBq;           // the max used for the current tile (finite)
  pack_transposed(hd.q + q0 * D, nq, nq_pad, D, qt);
  std::fill(m, m + nq, -kInf<T>);
  std::fill(l, l + nq, T(0));
  std::fill(acc, acc + nq * ld, T(0));
  const int64_t k_end = vis.key_end(q0 + nq - 1);
  for (int64_t k0 = vis.key_begin(q0) / kBk * kBk; k0 < k_end; k0 += kBk) {
    const int64_t nk = std::min(kBk, c.Tk - k0);
    Gemm::run(nk, nq_pad, D, hd.k + k0 * D, D, 1, qt, kBq, st, kBq, false);
    make_scores(c, vis, hd, st, q0, nq, k0, nk);
    online_softmax(st, nq, nk, m, l, mu, acc, ld, D);
    if (drop.on) {
      for (int64_t j = 0; j < nk; ++j) {
        apply_keep(st + j * kBq, q0, nq, drop.row(hd.index, c.Tk, k0 + j), drop.threshold, drop.keep_scale);
      }
    }
    Gemm::run(nq, D, nk, st, 1, kBq, hd.v + k0 * D, D, acc, ld, true);
  }
  const int64_t row0 = (b * c.Hq + h) * c.Tq + q0;
  for (int64_t i = 0; i < nq; ++i) {
    const T inv = l[i] > 0 ? T(1) / l[i] : T(0);
    T* o = io.out + (row0 + i) * D;
    for (int64_t d = 0; d < D; ++d) o[d] = acc[i * ld + d] * inv;
    io.lse[row0 + i] = l[i] > 0 ? m[i] + std::log(l[i]) : -kInf<T>;
  }
}

template <typename T, typename Gemm>
void flash_forward(const AttnConfig& c, const AttnBuffers<T>& io) {
  if (use_decode(c)) return decode_forward(c, io);
  const int64_t blocks = (c.Tq + kBq - 1) / kBq, tasks = c.B * c.Hq * blocks;
  const int64_t workers = workers_for(tasks), per_worker = forward_scratch(c.D);
  Buffer<T> scratch(workers * per_worker);
  run_tasks(tasks, workers, [&](int64_t t, int64_t w) {
    const int64_t bh = t / blocks, block = blocks - 1 - t % blocks;  // last blocks (most keys when causal) first
    forward_block<T, Gemm>(c, io, bh / c.Hq, bh % c.Hq, block * kBq, scratch.get() + w * per_worker);
  });
}

}  // namespace
}  // namespace peftjs::nn
