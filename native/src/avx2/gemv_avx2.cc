// AVX2 few-row kernel (M <= kSmallM) for a float32 or bf16 B stored N x K with short rows (at most
// kGemvShortRowBytes: SmolLM2's 576-wide Linear weights, batch-1 decode): C[i][j] = alpha * dot(A row i,
// B row j) (+ beta * C). Decode is bound by reading B: the rows are read one at a time, i.e. B in address
// order, one stream that the hardware prefetcher follows, with each line also prefetched into L2
// (prefetcht1) kAhead bytes further on. The general kernel in gemm_avx2.cc reads four rows interleaved,
// four short streams: on Zen 3, with the weights streamed from memory (24-48 weights in turn), 576-wide
// rows went from 14-17 to 20-21 GB/s (float32) and from 10-16 to 16-19 GB/s (bf16) this way, while
// 4 KB rows and longer were 5-15 % slower than interleaved, so those stay there.
//
// Order: each element is one 8-lane FMA chain over k (the K % 8 tail a masked load into the same
// chain), then summed across lanes and scaled: the same whatever M, the rows read together or the
// thread's column range, so a row's result does not depend on the rows beside it.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "avx2/lanes.h"
#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

constexpr int64_t kAhead = 4096;  // prefetch distance (bytes, rounded to rows)

// 8 elements of a B row as float32: float32 as stored, bf16 shifted into the high half of each lane.
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
// The first n (< 8) elements, zeros after: AVX2 has no masked 16-bit load, so bf16 goes through a copy.
inline __m256 load8_first(int, __m256i mask, const float* p) { return _mm256_maskload_ps(p, mask); }
inline __m256 load8_first(int n, __m256i, const uint16_t* p) {
  alignas(16) uint16_t buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(n) * sizeof(uint16_t));
  return load8(buf);
}

// C[0:IA, j:j + JB] from B rows j.. (IA x JB accumulators, one chain each); the line `ahead` elements
// further on is prefetched, for each B row, as each line is entered (when Prefetch).
template <int IA, int JB, bool Prefetch, typename E>
__attribute__((always_inline)) inline void block(int64_t K, const float* a, int64_t lda, const E* row, int64_t ldb,
                                                 int64_t ahead, float alpha, float beta, float* c, int64_t ldc) {
  __m256 acc[IA][JB];
  #pragma GCC unroll 8
  for (int i = 0; i < IA; ++i)
    #pragma GCC unroll 4
    for (int r = 0; r < JB; ++r) acc[i][r] = _mm256_setzero_ps();
  constexpr int64_t kLine = 64 / sizeof(E);  // elements per cache line
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 bv[JB];
    #pragma GCC unroll 4
    for (int r = 0; r < JB; ++r) {
      if (Prefetch && k % kLine == 0) _mm_prefetch(reinterpret_cast<const char*>(row + r * ldb + ahead + k), _MM_HINT_T1);
      bv[r] = load8(row + r * ldb + k);
    }
    #pragma GCC unroll 8
    for (int i = 0; i < IA; ++i) {
      const __m256 av = _mm256_loadu_ps(a + i * lda + k);
      #pragma GCC unroll 4
      for (int r = 0; r < JB; ++r) acc[i][r] = _mm256_fmadd_ps(av, bv[r], acc[i][r]);
    }
  }
  if (k < K) {
    const int n = static_cast<int>(K - k);
    const __m256i mask = avx2::first_lanes(n);
    __m256 bv[JB];
    #pragma GCC unroll 4
    for (int r = 0; r < JB; ++r) bv[r] = load8_first(n, mask, row + r * ldb + k);
    #pragma GCC unroll 8
    for (int i = 0; i < IA; ++i) {
      const __m256 av = _mm256_maskload_ps(a + i * lda + k, mask);
      #pragma GCC unroll 4
      for (int r = 0; r < JB; ++r) acc[i][r] = _mm256_fmadd_ps(av, bv[r], acc[i][r]);
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < IA; ++i)
    #pragma GCC unroll 4
    for (int r = 0; r < JB; ++r) {
      const float s = alpha * avx2::hsum(acc[i][r]);
      c[i * ldc + r] = beta == 0.0f ? s : std::fma(beta, c[i * ldc + r], s);  // fused for every row alike
    }
}

// All M rows of C for columns [j0, j1). One A row reads B one row at a time (decode: B in address
// order, one stream, bound by memory). More rows are bound by the FMAs: kJB B rows at a time against
// groups of at most 4 A rows (12 accumulators, 7 loads per 12 FMAs where one B row against all A rows
// took 9 per 8); the B rows, read again for the second group, are in L1.
template <int M, typename E>
void columns_for(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, int64_t ldb,
                 float alpha, float beta, float* c, int64_t ldc) {
  const E* rows = static_cast<const E*>(b);
  const int64_t row_bytes = ldb * int64_t(sizeof(E));
  const int64_t ahead = std::max<int64_t>(1, (kAhead + row_bytes / 2) / row_bytes) * ldb;  // prefetches never fault
  if constexpr (M == 1) {
    for (int64_t j = j0; j < j1; ++j) block<1, 1, true, E>(K, a, lda, rows + j * ldb, ldb, ahead, alpha, beta, c + j, ldc);
  } else {
    constexpr int kJB = 3;
    constexpr int kFirst = (M + 1) / 2 < 4 ? (M + 1) / 2 : 4, kSecond = M - kFirst;  // 8: 4 + 4, 5: 3 + 2
    const float* a2 = a + kFirst * lda;
    float* c2 = c + kFirst * ldc;
    int64_t j = j0;
    for (; j + kJB <= j1; j += kJB) {
      block<kFirst, kJB, true, E>(K, a, lda, rows + j * ldb, ldb, ahead, alpha, beta, c + j, ldc);
      block<kSecond, kJB, false, E>(K, a2, lda, rows + j * ldb, ldb, 0, alpha, beta, c2 + j, ldc);
    }
    for (; j < j1; ++j) {
      block<kFirst, 1, true, E>(K, a, lda, rows + j * ldb, ldb, ahead, alpha, beta, c + j, ldc);
      block<kSecond, 1, false, E>(K, a2, lda, rows + j * ldb, ldb, 0, alpha, beta, c2 + j, ldc);
    }
  }
}

using ByRows = void (*)(int64_t, int64_t, int64_t, const float*, int64_t, const void*, int64_t, float, float, float*,
                        int64_t);
template <typename E>
constexpr ByRows kByRows[kSmallM] = {columns_for<1, E>, columns_for<2, E>, columns_for<3, E>, columns_for<4, E>,
                                     columns_for<5, E>, columns_for<6, E>, columns_for<7, E>, columns_for<8, E>};

}  // namespace

void gemv_nk_avx2(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, BType bt,
                  int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  static_assert(kSmallM == 8, "one instantiation per row count");
  if (bt == BType::BF16) return kByRows<uint16_t>[m - 1](j0, j1, K, a, lda, b, ldb, alpha, beta, c, ldc);
  kByRows<float>[m - 1](j0, j1, K, a, lda, b, ldb, alpha, beta, c, ldc);
}

}  // namespace peftjs::gemm_detail
