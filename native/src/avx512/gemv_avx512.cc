// AVX-512 few-row kernel (M <= kSmallM) for a float32 or bf16 B stored N x K (nn.Linear weights,
// batch-1 decode): C[i][j] = alpha * dot(A row i, B row j) (+ beta * C); bf16 is widened by a shift. Decode is bound by reading B, so
// the kernel is shaped for the memory stream rather than the FMAs. Measured on Zen 4, one core,
// against a plain read of the same bytes (~25 GB/s; the AVX2 kernel, four rows interleaved with
// prefetches into L1, ran SmolLM2-135M's layers at ~14 GB/s):
//  - rows up to kShortRowBytes are read two at a time, i.e. B nearly in address order, one stream that
//    the hardware prefetcher follows; four interleaved rows of 2.3 KB were four short streams it did
//    not. (One at a time, as first built, left eight FMA chains for eight rows of A, exactly what
//    hides the FMA latency, and one for one: on an Ice Lake-class Xeon, 2 threads, two rows at a time
//    took GPT-2's LM head 50257 x 768 against 8 / 16 rows of A from 5.0 / 10.1 ms to 3.4 / 6.7, and
//    one row 1.9 -> 1.7 ms; Llama's 8192 x 2048 from memory 17.8 -> 12.5 ms at 8 rows, 9.3 -> 8.6 at
//    one; calls alternated in one process);
//  - longer rows (K = 4096: 16 KB) go four at a time, which was faster there than one;
//  - each row's lines are prefetched into L2 (prefetcht1) a fixed distance ahead, one prefetch per
//    line; prefetcht0 at the same distance gained nothing (the lines were evicted from L1 first).
// bf16 rows stream the same way at half the bytes (16 elements a load, one prefetch per line). f16 B
// and the K x N layout keep the AVX2 kernel.
//
// Order: each element is one 16-lane FMA chain over k (the K % 16 tail a masked load into the same
// chain), reduced by _mm512_reduce_add_ps, then scaled: the same whatever M, the rows read together
// or the thread's column range, so a row's result does not depend on the rows beside it.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

// _mm512_reduce_add_ps, which -Wmaybe-uninitialized reports once inlined here: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

constexpr int64_t kShortRowBytes = 8192;
constexpr int64_t kShortAhead = 4096;   // prefetch distance for short rows (bytes, rounded to rows)
constexpr int64_t kLongAhead = 32768;   // and for long rows
constexpr int kMaxAcc = 16;             // accumulators (of 32 zmm): R B rows x up to kMaxAcc / R A rows

// 16 elements of a B row as float32: float32 as stored, bf16 shifted into the high half of each lane.
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}
inline __m512 load16(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(__mmask16 m, const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

// The sums of the lanes of 16 vectors at once, each by the tree _mm512_reduce_add_ps uses (GCC's
// avx512fintrin.h: lanes i + 8 onto i, then i + 4 onto i, then [0] + [2] and [1] + [3], then those
// two), so each sum has that function's bits: every pairing of the tree is kept, only the shuffles
// that line the pairs up are shared between the vectors (45 instructions where 16 separate
// reductions took about 130). Lane 4 l + m of the result is the sum of v[4 m + l].
inline __m512 reduce_add_16(const __m512 (&v)[16]) {
  __m512 s1[8], s2[4], s3[2];
  for (int p = 0; p < 8; ++p)  // lanes 0-7: v[2p]'s i + (i + 8); 8-15: v[2p + 1]'s
    s1[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int q = 0; q < 4; ++q)  // 128-bit lane l: v[4q + l]'s i + (i + 4), i < 4
    s2[q] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * q], s1[2 * q + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_f32x4(s1[2 * q], s1[2 * q + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int u = 0; u < 2; ++u)  // 128-bit lane l: [0] + [2], [1] + [3] of v[8u + l], then of v[8u + 4 + l]
    s3[u] = _mm512_add_ps(_mm512_shuffle_ps(s2[2 * u], s2[2 * u + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_ps(s2[2 * u], s2[2 * u + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_ps(s3[0], s3[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(s3[0], s3[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// C[i0:i0 + MI, j:j + jn] from B rows rows[0..R) (rows past jn repeat the last one); `ahead` rows
// further on are prefetched when `prefetch` (the first A-row chunk; the others find B in L1/L2).
template <int MI, int R, typename E>
__attribute__((always_inline)) inline void block(int64_t K, __mmask16 tail, const float* a, int64_t lda,
                                                 const E* const rows[R], int jn, int64_t ahead, bool prefetch,
                                                 float alpha, float beta, float* c, int64_t ldc) {
  __m512 acc[MI][R];
  #pragma GCC unroll 8
  for (int i = 0; i < MI; ++i)
    #pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 bv[R];
    #pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if (prefetch && (sizeof(E) == 4 || k % 32 == 0))  // once per 64-byte line
        _mm_prefetch(reinterpret_cast<const char*>(rows[r] + ahead + k), _MM_HINT_T1);
      bv[r] = load16(rows[r] + k);
    }
    #pragma GCC unroll 8
    for (int i = 0; i < MI; ++i) {
      __m512 av = _mm512_loadu_ps(a + i * lda + k);
      if constexpr (R > 1) __asm__("" : "+v"(av));  // one load for the R FMAs (GCC folds it into each)
      #pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[i][r] = _mm512_fmadd_ps(av, bv[r], acc[i][r]);
    }
  }
  if (k < K) {
    __m512 bv[R];
    #pragma GCC unroll 4
    for (int r = 0; r < R; ++r) bv[r] = load16(tail, rows[r] + k);
    #pragma GCC unroll 8
    for (int i = 0; i < MI; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(tail, a + i * lda + k);
      #pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[i][r] = _mm512_fmadd_ps(av, bv[r], acc[i][r]);
    }
  }
  alignas(64) float sums[MI][R];
  if constexpr (constexpr int n = MI * R; n == 4 || n == 8 || n == 16) {
    // Fewer than 16 vectors repeated to 16: the repeated pairings are the same operations on the same
    // values, which the compiler computes once.
    __m512 v[16];
    for (int f = 0; f < 16; ++f) v[f] = acc[f % n / R][f % n % R];
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, reduce_add_16(v));
    for (int f = 0; f < n; ++f) sums[f / R][f % R] = lanes[4 * (f % 4) + f / 4];
  } else {
    for (int i = 0; i < MI; ++i)
      for (int r = 0; r < R; ++r) sums[i][r] = _mm512_reduce_add_ps(acc[i][r]);
  }
  for (int i = 0; i < MI; ++i)
    for (int r = 0; r < jn; ++r) {
      float* cij = c + i * ldc + r;
      const float s = alpha * sums[i][r];
      *cij = beta == 0.0f ? s : std::fma(beta, *cij, s);  // fused for every row alike (see gemv_avx2.cc)
    }
}

// All M rows of C for columns [j0, j1), R B rows at a time, A rows in chunks of kMaxAcc / R.
template <int M, int R, typename E>
void columns(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const E* b, int64_t ldb,
             float alpha, float beta, float* c, int64_t ldc) {
  constexpr int kChunk = std::min(M, kMaxAcc / R);
  const int64_t row_bytes = ldb * int64_t(sizeof(E));
  const int64_t ahead_bytes = R == 1 ? kShortAhead : kLongAhead;
  const int64_t ahead = std::max<int64_t>(1, (ahead_bytes + row_bytes / 2) / row_bytes) * ldb;  // prefetches never fault
  const __mmask16 tail = static_cast<__mmask16>((1u << (K % 16)) - 1);
  for (int64_t j = j0; j < j1; j += R) {
    const int jn = static_cast<int>(std::min<int64_t>(R, j1 - j));
    const E* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = b + (j + std::min(r, jn - 1)) * ldb;
    for (int i = 0; i < M; i += kChunk) {
      float* ci = c + i * ldc + j;
      if constexpr (M % kChunk == 0) {
        block<kChunk, R, E>(K, tail, a + i * lda, lda, rows, jn, ahead, i == 0, alpha, beta, ci, ldc);
      } else if (i + kChunk <= M) {
        block<kChunk, R, E>(K, tail, a + i * lda, lda, rows, jn, ahead, i == 0, alpha, beta, ci, ldc);
      } else {
        block<M % kChunk, R, E>(K, tail, a + i * lda, lda, rows, jn, ahead, false, alpha, beta, ci, ldc);
      }
    }
  }
}

template <int M, typename E>
void columns_for(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, int64_t ldb,
                 float alpha, float beta, float* c, int64_t ldc) {
  const E* rows = static_cast<const E*>(b);
  if (ldb * int64_t(sizeof(E)) <= kShortRowBytes) return columns<M, 2>(j0, j1, K, a, lda, rows, ldb, alpha, beta, c, ldc);
  columns<M, 4>(j0, j1, K, a, lda, rows, ldb, alpha, beta, c, ldc);
}

using ByRows = void (*)(int64_t, int64_t, int64_t, const float*, int64_t, const void*, int64_t, float, float, float*,
                        int64_t);
template <typename E>
constexpr ByRows kByRows[kSmallM] = {columns_for<1, E>, columns_for<2, E>, columns_for<3, E>, columns_for<4, E>,
                                        columns_for<5, E>, columns_for<6, E>, columns_for<7, E>, columns_for<8, E>};

}  // namespace

void small_m_avx512(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, bool trans, const void* b,
                    BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  static_assert(kSmallM == 8, "one instantiation per row count");
  if (trans && bt == BType::F32) return kByRows<float>[m - 1](j0, j1, K, a, lda, b, ldb, alpha, beta, c, ldc);
  if (trans && bt == BType::BF16) return kByRows<uint16_t>[m - 1](j0, j1, K, a, lda, b, ldb, alpha, beta, c, ldc);
  if (!trans && (bt == BType::F32 || bt == BType::BF16)) {
    return small_m_rows_avx512(m, j0, j1, K, a, lda, b, bt, ldb, alpha, beta, c, ldc);
  }
  small_m_avx2(m, j0, j1, K, a, lda, trans, b, bt, ldb, alpha, beta, c, ldc);
}

}  // namespace peftjs::gemm_detail
