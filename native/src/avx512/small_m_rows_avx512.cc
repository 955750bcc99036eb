// The few-row kernel for a B stored K x N (row-major op(B): GPT-2's Conv1D weights, which serving
// multiplies by a few rows each decode step) on AVX-512, for float32 and bf16 B. The AVX2 kernel
// (avx2/gemm_avx2.cc small_m_rows) at two and four times the width: per four k, each 32 columns of the
// four B rows are converted once and used for all M rows of C. Every C element gets the same
// operations in the same order as there (beta first, then one FMA per k with alpha * a), so the
// results are the AVX2 kernel's bit for bit; the columns past the last 16 are the AVX2 kernel's own.
// GPT-2's four weights of 12 layers (bf16) against 8 rows, 2 threads: 14.1 ms with the AVX2 kernel,
// 11.8 with 16 columns a step, 10.0-11.0 with 32 (Intel Xeon, AVX-512).
#include <immintrin.h>

#include <algorithm>

// _mm512_cvtepu16_epi32, which -Wmaybe-uninitialized reports once inlined here (its undefined
// pass-through operand): a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

template <BType BT>
inline const void* b_elem(const void* b, int64_t i) {
  return static_cast<const char*>(b) + i * (BT == BType::F32 ? 4 : 2);
}

template <BType BT>
inline __m512 load16(const void* p) {
  if constexpr (BT == BType::BF16) {
    const __m512i x = _mm512_cvtepu16_epi32(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
  }
  return _mm512_loadu_ps(static_cast<const float*>(p));
}

// While four B rows are read, the same columns of the next four (often the next bytes in memory) are
// prefetched, a cache line per row each time the columns read so far cross a line (see the AVX2 kernel).
template <BType BT>
__attribute__((always_inline)) inline void prefetch_next_group(const void* const rows[4], int64_t ldb, int64_t step,
                                                               int64_t col) {
  constexpr int64_t kLineElems = 64 / (BT == BType::F32 ? 4 : 2);
  if (step % kLineElems != 0) return;
  for (int r = 0; r < 4; ++r) _mm_prefetch(static_cast<const char*>(b_elem<BT>(rows[r], 4 * ldb + col)), _MM_HINT_T0);
}

template <BType BT, int M>
void rows_fixed(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, int64_t ldb, float alpha,
                float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = j0; j < j1; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
  for (int64_t k = 0; k < K; k += 4) {
    const int kn = static_cast<int>(std::min<int64_t>(4, K - k));
    const void* rows[4];
    for (int r = 0; r < 4; ++r) rows[r] = b_elem<BT>(b, (k + std::min(r, kn - 1)) * ldb);
    float as[M][4];
    for (int i = 0; i < M; ++i)
      for (int r = 0; r < 4; ++r) as[i][r] = r < kn ? alpha * a[i * lda + k + r] : 0.0f;
    int64_t j = j0;
    // 32 columns at a time: each broadcast of alpha * a feeds two FMAs (with one FMA each, the
    // broadcasts, C and B were more loads than FMAs).
    for (; j + 32 <= j1; j += 32) {
      prefetch_next_group<BT>(rows, ldb, j - j0, j);
      prefetch_next_group<BT>(rows, ldb, j - j0 + 16, j + 16);
      __m512 bv[4][2];
      for (int r = 0; r < 4; ++r)
        for (int h = 0; h < 2; ++h) bv[r][h] = load16<BT>(b_elem<BT>(rows[r], j + 16 * h));
      for (int i = 0; i < M; ++i) {
        float* ci = c + i * ldc + j;
        __m512 v0 = _mm512_loadu_ps(ci), v1 = _mm512_loadu_ps(ci + 16);
        for (int r = 0; r < 4; ++r) {
          const __m512 ar = _mm512_set1_ps(as[i][r]);
          v0 = _mm512_fmadd_ps(ar, bv[r][0], v0);
          v1 = _mm512_fmadd_ps(ar, bv[r][1], v1);
        }
        _mm512_storeu_ps(ci, v0);
        _mm512_storeu_ps(ci + 16, v1);
      }
    }
    if (j < j1) {  // j1 - j0 is a multiple of 16: 16 columns are left at most
      prefetch_next_group<BT>(rows, ldb, j - j0, j);
      __m512 bv[4];
      for (int r = 0; r < 4; ++r) bv[r] = load16<BT>(b_elem<BT>(rows[r], j));
      for (int i = 0; i < M; ++i) {
        float* ci = c + i * ldc + j;
        __m512 v = _mm512_loadu_ps(ci);
        for (int r = 0; r < 4; ++r) v = _mm512_fmadd_ps(_mm512_set1_ps(as[i][r]), bv[r], v);
        _mm512_storeu_ps(ci, v);
      }
    }
  }
}

using Fn = void (*)(int64_t, int64_t, int64_t, const float*, int64_t, const void*, int64_t, float, float, float*, int64_t);
template <BType BT>
constexpr Fn kByRows[kSmallM] = {rows_fixed<BT, 1>, rows_fixed<BT, 2>, rows_fixed<BT, 3>, rows_fixed<BT, 4>,
                                 rows_fixed<BT, 5>, rows_fixed<BT, 6>, rows_fixed<BT, 7>, rows_fixed<BT, 8>};

}  // namespace

void small_m_rows_avx512(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b,
                         BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  static_assert(kSmallM == 8, "one instantiation per row count");
  const int64_t wide = j0 + (j1 - j0) / 16 * 16;  // columns in whole 16s here, the rest by the AVX2 kernel
  if (wide > j0) {
    const Fn fn = bt == BType::BF16 ? kByRows<BType::BF16>[m - 1] : kByRows<BType::F32>[m - 1];
    fn(j0, wide, K, a, lda, b, ldb, alpha, beta, c, ldc);
  }
  if (wide < j1) small_m_avx2(m, wide, j1, K, a, lda, false, b, bt, ldb, alpha, beta, c, ldc);
}

}  // namespace peftjs::gemm_detail
