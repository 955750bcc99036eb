// AVX-512 float32 GEMM kernel: the 6x16 AVX2 tile widened to 12x32 (24 zmm accumulators). Packing
// and the few-row kernel are the AVX2 ones.
#include <immintrin.h>

#include <algorithm>

#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

constexpr int kMR = 12, kNR = 32;

// The 12x32 register tile: C[0:12, 0:32] = alpha * sum_k pa[k*12 + i] * pb[k*32 + j] + beta * C,
// 24 zmm accumulators (the unroll pragmas keep them in registers). Partial tiles go through a buffer.
void tile_12x32(int64_t kc, const float* pa, const float* pb, float alpha, float beta, float* c, int64_t ldc, int m,
                int n) {
  __m512 acc[kMR][2];
  #pragma GCC unroll 16
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  #pragma GCC unroll 16
  for (int i = 0; i < kMR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNR - 1), _MM_HINT_T0);
  }
  #pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k, pa += kMR, pb += kNR) {
    const __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
    #pragma GCC unroll 16
    for (int i = 0; i < kMR; ++i) {
      const __m512 a = _mm512_set1_ps(pa[i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  if (m == kMR && n == kNR) {  // all loads of C before any store: C rows 4 KB apart would alias
    #pragma GCC unroll 16
    for (int i = 0; i < kMR; ++i)
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) {
        acc[i][h] = _mm512_mul_ps(va, acc[i][h]);
        if (beta != 0.0f) acc[i][h] = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc + 16 * h), acc[i][h]);
      }
    #pragma GCC unroll 16
    for (int i = 0; i < kMR; ++i)
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) _mm512_storeu_ps(c + i * ldc + 16 * h, acc[i][h]);
    return;
  }
  alignas(64) float tmp[kMR * kNR];
  #pragma GCC unroll 16
  for (int i = 0; i < kMR; ++i)
    #pragma GCC unroll 16
    for (int h = 0; h < 2; ++h) _mm512_store_ps(tmp + i * kNR + 16 * h, _mm512_mul_ps(va, acc[i][h]));
  #pragma GCC unroll 16
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? tmp[i * kNR + j] : tmp[i * kNR + j] + beta * c[i * ldc + j];
}

// C[0:mc, 0:nc] = alpha * packedA * packedB + beta * C, tile by tile (B panel outer, A panels inner).
void macro_12x32(int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb, float alpha, float beta,
                 float* c, int64_t ldc) {
  for (int64_t j = 0; j < nc; j += kNR)
    for (int64_t i = 0; i < mc; i += kMR)
      tile_12x32(kc, pa + i * kc, pb + j * kc, alpha, beta, c + i * ldc + j, ldc,
                 static_cast<int>(std::min<int64_t>(kMR, mc - i)), static_cast<int>(std::min<int64_t>(kNR, nc - j)));
}

}  // namespace

const Kernels<float>& kernels_f32_avx512() {
  static const Kernels<float> k{kMR, kNR, pack_a_avx2<kMR>, pack_b_avx2<kNR>, macro_12x32, small_m_avx2};
  return k;
}

}  // namespace peftjs::gemm_detail
