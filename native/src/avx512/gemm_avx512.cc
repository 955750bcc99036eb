// AVX-512 float32 GEMM kernels: the 6x16 AVX2 tile widened to 12x32 (24 zmm accumulators; with A and
// B in L1/L2 it runs at the FMA peak on Zen 5, as did 14x32, 8x48 and 6x64 tried beside it), and a
// narrow-N kernel. Packing is the AVX2 one; the few-row kernel is gemv_avx512.cc's.
#include <immintrin.h>

#include <algorithm>

#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

constexpr int kMR = 12, kNR = 32;

// The register tile, R rows of it (R = 12 but in a panel's last rows: computing only the rows that
// exist saves what the zero padding would cost, a 32nd of the work at M = 128):
// C[0:R, 0:32] = alpha * sum_k pa[k*12 + i] * pb[k*32 + j] + beta * C, 2R zmm accumulators (the
// unroll pragmas keep them in registers). Each row's sum runs in the same order whatever R is. A
// partial column panel goes through a buffer.
template <int R>
void tile(int64_t kc, const float* pa, const float* pb, float alpha, float beta, float* c, int64_t ldc, int n) {
  __m512 acc[R][2];
  #pragma GCC unroll 16
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  #pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNR - 1), _MM_HINT_T0);
  }
  #pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k, pa += kMR, pb += kNR) {
    const __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
    #pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 a = _mm512_set1_ps(pa[i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  if (n == kNR) {  // all loads of C before any store: C rows 4 KB apart would alias
    #pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) {
        acc[i][h] = _mm512_mul_ps(va, acc[i][h]);
        if (beta != 0.0f) acc[i][h] = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc + 16 * h), acc[i][h]);
      }
    #pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) _mm512_storeu_ps(c + i * ldc + 16 * h, acc[i][h]);
    return;
  }
  alignas(64) float tmp[R * kNR];
  #pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
    #pragma GCC unroll 16
    for (int h = 0; h < 2; ++h) _mm512_store_ps(tmp + i * kNR + 16 * h, _mm512_mul_ps(va, acc[i][h]));
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? tmp[i * kNR + j] : tmp[i * kNR + j] + beta * c[i * ldc + j];
}

using TileFn = void (*)(int64_t, const float*, const float*, float, float, float*, int64_t, int);
constexpr TileFn kTileByRows[kMR] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>,  tile<6>,
                                     tile<7>, tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};

// C[0:mc, 0:nc] = alpha * packedA * packedB + beta * C, tile by tile (B panel outer, A panels inner).
void macro_12x32(int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb, float alpha, float beta,
                 float* c, int64_t ldc) {
  for (int64_t j = 0; j < nc; j += kNR)
    for (int64_t i = 0; i < mc; i += kMR)
      kTileByRows[std::min<int64_t>(kMR, mc - i) - 1](kc, pa + i * kc, pb + j * kc, alpha, beta, c + i * ldc + j, ldc,
                                                       static_cast<int>(std::min<int64_t>(kNR, nc - j)));
}

// R rows of a narrow product: one zmm accumulator per row, A broadcast from where it is stored (each
// A element is used once, so packing it would cost as much as the product), B one packed panel.
template <int R>
void narrow_rows(int64_t K, const float* a, int64_t rsa, int64_t csa, const float* pb, __m512 acc[R]) {
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  #pragma GCC unroll 2
  for (int64_t k = 0; k < K; ++k, a += csa) {
    const __m512 b = _mm512_load_ps(pb + k * kNR);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * rsa]), b, acc[r]);
  }
}

template <int R>
void narrow_block(int64_t K, const float* a, int64_t rsa, int64_t csa, const float* pb, __mmask16 cols, float alpha,
                  float beta, float* c, int64_t ldc) {
  __m512 acc[R];
  narrow_rows<R>(K, a, rsa, csa, pb, acc);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    __m512 v = _mm512_mul_ps(va, acc[r]);
    if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(cols, c + r * ldc), v);
    _mm512_mask_storeu_ps(c + r * ldc, cols, v);
  }
}

// 12 rows at a time (12 independent FMA chains cover the FMA latency on two pipes), then 4, then 1.
void narrow_n(int64_t m, int64_t n, int64_t K, const float* a, int64_t rsa, int64_t csa, const float* pb, float alpha,
              float beta, float* c, int64_t ldc) {
  constexpr int kRows = 12;
  const __mmask16 cols = static_cast<__mmask16>((1u << n) - 1);
  int64_t i = 0;
  for (; i + kRows <= m; i += kRows)
    narrow_block<kRows>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
  for (; i + 4 <= m; i += 4) narrow_block<4>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
  for (; i < m; ++i) narrow_block<1>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
}

}  // namespace

const Kernels<float>& kernels_f32_avx512() {
  static const Kernels<float> k{kMR, kNR, pack_a_avx2<kMR>, pack_b_avx2<kNR>, macro_12x32, small_m_avx512, narrow_n, 256};
  return k;
}

}  // namespace peftjs::gemm_detail
