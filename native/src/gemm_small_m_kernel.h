// The few-row bf16 GEMM kernel (gemm_small_m.h), written once over a vector type V that each
// instruction set's file supplies (AVX-512: 16 lanes, AVX2: 8, portable: 8 plain floats). Included
// by exactly one file per instruction set; everything is in an anonymous namespace, so the copies
// built with different compiler flags never meet at link time.
//
// B is stored N x K (a Linear weight, the LM head). A strip of W rows of B (W columns of C) and one K
// block is widened bf16 -> float32 by a shift and transposed, block by block in registers, into a
// k-major buffer that stays in L1/L2; then register tiles of R rows of A x W columns run over it, A
// broadcast from where it is stored. B is read from memory once and A is never packed. Each element of
// C is one FMA chain over k in the packed paths' K blocks, joined to C per block as their register
// tiles join it, so its bits are theirs (see gemm_small_m.h for the exact statement).
#pragma once
#include <algorithm>
#include <cstdint>

#include "gemm.h"
#include "thread_scratch.h"

namespace peftjs::gemm_small_m {
namespace {

constexpr int64_t kMaxKc = 512;  // the packed paths' deepest K block (kKC in gemm.cc)

// bw[k * W + j] = B[j][k0 + k] for j < jn (rows of the strip that exist), 0 for jn <= j < W.
template <class V>
void widen_strip(const uint16_t* b, int64_t ldb, int jn, int64_t k0, int64_t kc, float* bw) {
  constexpr int L = V::kLanes, W = L * V::kStripVectors;
  for (int jb = 0; jb < W; jb += L) {
    const int rows = std::clamp(jn - jb, 0, L);
    const uint16_t* src = b + jb * ldb + k0;
    // The next strip's rows of this K block: W rows read at once are more streams than the hardware
    // prefetchers follow (past the end of B: a prefetch never faults).
    for (int r = 0; r < rows; ++r)
      for (int64_t byte = 0; byte < kc * 2; byte += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(src + (W + r) * ldb) + byte);
    int64_t k = 0;
    for (; k + L <= kc; k += L) V::transpose_widen(src + k, ldb, rows, bw + k * W + jb, W);
    for (; k < kc; ++k)
      for (int r = 0; r < L; ++r) bw[k * W + jb + r] = r < rows ? gemm_detail::bf16_to_float(src[r * ldb + k]) : 0.0f;
  }
}

// C[0:R, 0:jn] = alpha * sum_k a[i][k] * bw[k][j] + beta * C (beta == 0: C not read): R x kStripVectors
// accumulators, one FMA per k in increasing k for each element.
template <class V, int R>
void tile(int64_t kc, const float* a, int64_t lda, const float* bw, float alpha, float beta, float* c, int64_t ldc,
          int jn) {
  constexpr int L = V::kLanes, VW = V::kStripVectors, W = L * VW;
  typename V::T acc[R][VW];
  #pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
    #pragma GCC unroll 4
    for (int v = 0; v < VW; ++v) acc[i][v] = V::zero();
  for (int64_t k = 0; k < kc; ++k, bw += W) {
    typename V::T bv[VW];
    #pragma GCC unroll 4
    for (int v = 0; v < VW; ++v) bv[v] = V::load(bw + v * L);
    #pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const typename V::T ai = V::broadcast(a + i * lda + k);
      #pragma GCC unroll 4
      for (int v = 0; v < VW; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
    }
  }
  const typename V::T va = V::set1(alpha), vb = V::set1(beta);
  alignas(64) float part[W];
  // Unrolled like the loops above: an accumulator indexed at run time makes GCC keep the array in
  // memory and store all of it on every k (12 stores per 12 FMAs: the AVX2 tile ran at half speed).
  #pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    float* ci = c + i * ldc;
    #pragma GCC unroll 4
    for (int v = 0; v < VW; ++v) {
      const typename V::T x = V::mul(va, acc[i][v]);
      if (jn == W) {
        V::storeu(ci + v * L, beta == 0.0f ? x : V::join(vb, V::loadu(ci + v * L), x));
      } else {
        V::storeu(part + v * L, x);
      }
    }
    if (jn < W)
      for (int j = 0; j < jn; ++j) ci[j] = beta == 0.0f ? part[j] : V::join1(beta, ci[j], part[j]);
  }
}

template <class V>
void tile_rows(int rows, int64_t kc, const float* a, int64_t lda, const float* bw, float alpha, float beta, float* c,
               int64_t ldc, int jn) {
  static_assert(V::kTileRows == 6 || V::kTileRows == 4, "tile row counts below");
  switch (rows) {
    case 1: return tile<V, 1>(kc, a, lda, bw, alpha, beta, c, ldc, jn);
    case 2: return tile<V, 2>(kc, a, lda, bw, alpha, beta, c, ldc, jn);
    case 3: return tile<V, 3>(kc, a, lda, bw, alpha, beta, c, ldc, jn);
    case 4: return tile<V, 4>(kc, a, lda, bw, alpha, beta, c, ldc, jn);
    default:
      if constexpr (V::kTileRows == 6) {
        if (rows == 5) return tile<V, 5>(kc, a, lda, bw, alpha, beta, c, ldc, jn);
        return tile<V, 6>(kc, a, lda, bw, alpha, beta, c, ldc, jn);
      }
  }
}

// C[0:m, j0:j1] = alpha * A * B[j0:j1]^T + beta * C, strip by strip, K block by K block (the first
// block scales C by beta, the others add to it, as the packed paths do).
template <class V>
void columns(int64_t m, int64_t j0, int64_t j1, int64_t K, int64_t kc, const float* a, int64_t lda, const uint16_t* b,
             int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  constexpr int W = V::kLanes * V::kStripVectors;
  thread_local ThreadScratch bw_slot;
  float* bw = static_cast<float*>(bw_slot.reserve(sizeof(float) * kMaxKc * W));
  for (int64_t j = j0; j < j1; j += W) {
    const int jn = static_cast<int>(std::min<int64_t>(W, j1 - j));
    for (int64_t k0 = 0; k0 < K; k0 += kc) {
      const int64_t kb = std::min(kc, K - k0);
      widen_strip<V>(b + j * ldb, ldb, jn, k0, kb, bw);
      for (int64_t i = 0; i < m; i += V::kTileRows) {
        const int rows = static_cast<int>(std::min<int64_t>(V::kTileRows, m - i));
        tile_rows<V>(rows, kb, a + i * lda + k0, lda, bw, alpha, k0 == 0 ? beta : 1.0f, c + i * ldc + j, ldc, jn);
      }
    }
  }
}

}  // namespace
}  // namespace peftjs::gemm_small_m
