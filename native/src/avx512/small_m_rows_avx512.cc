// The few-row kernel for a B stored K x N (row-major op(B): GPT-2's Conv1D weights, which serving
// multiplies by a few rows each decode step) on AVX-512, for float32 and bf16 B, up to 16 rows.
//
// Each C element gets the AVX2 kernel's operations (avx2/gemm_avx2.cc small_m_rows) in the same order:
// beta first (beta == 0: zero, C not read), then one FMA per k with alpha * a, k ascending, the k tail
// padded to four with a zero multiplier against the last row as there; so the results are the AVX2
// kernel's bit for bit (and a row's bits do not depend on how many rows share the call). The columns
// past the last 16 are the AVX2 kernel's own.
//
// Blocking. B's rows go kKBlock at a time; within such a block each 32 columns (64 for one or two
// rows, 16 for the last ones) of C stay in registers across all its k, for up to eight rows at once (a
// second group of rows reads the block's columns again from L1). The AVX2 kernel's order (four k
// across every column, C loaded and stored each time) kept C in L2 for wide rows (8 rows of 2304
// floats), and its loads and stores, not the FMAs, bounded it. A bf16 B's 32 columns are one 64-byte
// load split into its even columns (shifted left 16) and odd columns (masked): two operations per 32
// columns where widening takes four; the accumulators hold C's columns de-interleaved, and are
// interleaved back when stored. While a block is read, the same columns of the next block's rows are
// prefetched (a line a row).
// GPT-2's four weights of 12 layers (bf16, 2 threads, Intel Xeon Ice Lake class, processes alternated
// 4 x 2): 16 rows 17.3-18.8 ms against 20.9-21.3 for the AVX2 order in 8-row chunks; 8 rows 9.4-9.7
// against 10.8-14.0; one row unchanged (the four-row blocks are the AVX2 order).
#include <immintrin.h>

#include <algorithm>

// _mm512_cvtepu16_epi32, which -Wmaybe-uninitialized reports once inlined here (its undefined
// pass-through operand): a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

// Rows of B a register pass goes over (a multiple of 4). With one or two rows of C, C stays in L1
// anyway, and four B rows at a time stream best.
template <int M>
constexpr int kKBlock = M <= 2 ? 4 : 32;
constexpr int kGroup = 8;  // rows of C held in registers at once

template <BType BT>
constexpr int64_t kElemBytes = BT == BType::F32 ? 4 : 2;

// One block of B rows: their addresses (the tail padded with the last row) and alpha * a for each of
// the M rows (zero for the padding), as the AVX2 kernel computes them.
template <int M>
struct Block {
  int64_t rows;      // k of the block, padded to a multiple of 4
  int64_t ahead;     // rows of the next block (prefetched while this one is read): kKBlock rows further
  int64_t distance;  // bytes from a row to the same row of the next block
  const char* b[kKBlock<M>];
  alignas(64) float as[M][kKBlock<M>];
};

template <int M>
void fill_block(Block<M>& blk, int64_t k0, int64_t K, const float* a, int64_t lda, const char* b, int64_t row_bytes,
                float alpha) {
  const int64_t kn = std::min<int64_t>(kKBlock<M>, K - k0);
  blk.rows = (kn + 3) / 4 * 4;
  blk.ahead = std::clamp<int64_t>(K - k0 - kKBlock<M>, 0, kKBlock<M>);
  blk.distance = kKBlock<M> * row_bytes;
  for (int64_t r = 0; r < blk.rows; ++r) {
    const int64_t group = k0 + r / 4 * 4, k = group + std::min<int64_t>(r % 4, K - 1 - group);
    blk.b[r] = b + k * row_bytes;
    for (int i = 0; i < M; ++i) blk.as[i][r] = k0 + r < K ? alpha * a[i * lda + k0 + r] : 0.0f;
  }
}

// C columns [j, j + 16 W) of G rows in W vectors a row: loaded (beta applied on the first block) and
// stored; for a bf16 B each 32 columns as two vectors in the de-interleaved order (even, odd columns).
template <BType BT, int G, int W>
struct Acc {
  __m512 v[G][W];
  static constexpr bool kSplit = BT == BType::BF16 && W % 2 == 0;

  void load(const float* c, int64_t ldc, bool first, float beta) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int i = 0; i < G; ++i) {
      __m512 w[W];
      for (int h = 0; h < W; ++h) {
        if (first && beta == 0.0f) {
          w[h] = _mm512_setzero_ps();
        } else {
          w[h] = _mm512_loadu_ps(c + i * ldc + 16 * h);
          if (first) w[h] = _mm512_mul_ps(_mm512_set1_ps(beta), w[h]);
        }
      }
      for (int h = 0; h < W; ++h) {
        if constexpr (kSplit) {
          v[i][h] = _mm512_permutex2var_ps(w[h & ~1], h % 2 ? odd : even, w[h | 1]);
        } else {
          v[i][h] = w[h];
        }
      }
    }
  }

  void store(float* c, int64_t ldc) const {
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int i = 0; i < G; ++i)
      for (int h = 0; h < W; ++h) {
        if constexpr (kSplit) {
          _mm512_storeu_ps(c + i * ldc + 16 * h, _mm512_permutex2var_ps(v[i][h & ~1], h % 2 ? high : low, v[i][h | 1]));
        } else {
          _mm512_storeu_ps(c + i * ldc + 16 * h, v[i][h]);
        }
      }
  }
};

// The W vectors of B row p at these columns, in the accumulators' order.
template <BType BT, int W>
inline void load_b(const char* p, __m512 (&bv)[W]) {
  if constexpr (BT == BType::F32) {
    for (int h = 0; h < W; ++h) bv[h] = _mm512_loadu_ps(reinterpret_cast<const float*>(p) + 16 * h);
  } else if constexpr (W % 2 == 0) {
    for (int h = 0; h < W; h += 2) {
      const __m512i x = _mm512_loadu_si512(p + 32 * h);
      bv[h] = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
      bv[h + 1] = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
    }
  } else {
    const __m512i x = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    bv[0] = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
  }
}

// Rows [i0, i0 + G) of C at columns [j, j + 16 W) over one block of B rows. Not inlined: inlined,
// the two groups of a 9-16-row call shared one register allocation, and 16 rows spilled accumulators.
template <BType BT, int M, int G, int W>
__attribute__((noinline)) void block_columns(const Block<M>& blk, int i0, int64_t j, bool first, bool prefetch,
                                             float beta, float* c, int64_t ldc) {
  Acc<BT, G, W> acc;
  acc.load(c + i0 * ldc + j, ldc, first, beta);
  const int64_t offset = j * kElemBytes<BT>;
  for (int64_t r = 0; r < blk.rows; ++r) {
    if (prefetch && r < blk.ahead) {
      for (int64_t line = 0; line < 16 * W * kElemBytes<BT>; line += 64)
        _mm_prefetch(blk.b[r] + blk.distance + offset + line, _MM_HINT_T0);
    }
    __m512 bv[W];
    load_b<BT, W>(blk.b[r] + offset, bv);
    for (int i = 0; i < G; ++i) {
      const __m512 ar = _mm512_set1_ps(blk.as[i0 + i][r]);
      for (int h = 0; h < W; ++h) acc.v[i][h] = _mm512_fmadd_ps(ar, bv[h], acc.v[i][h]);
    }
  }
  acc.store(c + i0 * ldc + j, ldc);
}

// All M rows at columns [j, j + 16 W): eight rows at a time, the first group prefetching.
template <BType BT, int M, int W>
inline void block_all_rows(const Block<M>& blk, int64_t j, bool first, float beta, float* c, int64_t ldc) {
  block_columns<BT, M, std::min(M, kGroup), W>(blk, 0, j, first, true, beta, c, ldc);
  if constexpr (M > kGroup) block_columns<BT, M, M - kGroup, W>(blk, kGroup, j, first, false, beta, c, ldc);
}

template <BType BT, int M>
void rows_fixed(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, int64_t ldb, float alpha,
                float beta, float* c, int64_t ldc) {
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = j0; j < j1; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  // One or two rows: 64 columns a step (the loop's fixed work per k over more FMAs).
  constexpr int kWidth = M <= 2 ? 4 : 2;
  Block<M> blk;
  for (int64_t k0 = 0; k0 < K; k0 += kKBlock<M>) {
    fill_block(blk, k0, K, a, lda, static_cast<const char*>(b), ldb * kElemBytes<BT>, alpha);
    const bool first = k0 == 0;
    int64_t j = j0;
    for (; j + 16 * kWidth <= j1; j += 16 * kWidth) block_all_rows<BT, M, kWidth>(blk, j, first, beta, c, ldc);
    if constexpr (kWidth == 4) {
      if (j + 32 <= j1) {
        block_all_rows<BT, M, 2>(blk, j, first, beta, c, ldc);
        j += 32;
      }
    }
    if (j < j1) block_all_rows<BT, M, 1>(blk, j, first, beta, c, ldc);  // j1 - j0 is a multiple of 16
  }
}

using Fn = void (*)(int64_t, int64_t, int64_t, const float*, int64_t, const void*, int64_t, float, float, float*, int64_t);
template <BType BT, int... Ms>
constexpr Fn kTable[] = {rows_fixed<BT, Ms>...};
template <BType BT>
constexpr const Fn* kByRows = kTable<BT, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16>;

}  // namespace

void small_m_rows_avx512(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b,
                         BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  const int64_t wide = j0 + (j1 - j0) / 16 * 16;  // columns in whole 16s here, the rest by the AVX2 kernel
  if (wide > j0) {
    const Fn fn = bt == BType::BF16 ? kByRows<BType::BF16>[m - 1] : kByRows<BType::F32>[m - 1];
    fn(j0, wide, K, a, lda, b, ldb, alpha, beta, c, ldc);
  }
  if (wide == j1) return;
  for (int64_t i = 0; i < m; i += kSmallM) {  // (the AVX2 kernel takes up to kSmallM rows)
    small_m_avx2(std::min<int64_t>(kSmallM, m - i), wide, j1, K, a + i * lda, lda, false, b, bt, ldb, alpha, beta,
                 c + i * ldc, ldc);
  }
}

}  // namespace peftjs::gemm_detail
