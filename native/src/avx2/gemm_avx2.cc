// AVX2 + FMA float32 GEMM kernels: packers (bf16/f16 B converted with AVX2/F16C), the 6x16 register
// tile, a narrow-N kernel (LoRA's x Aᵀ), and a few-row kernel that streams B once for matrix-vector
// shaped products.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "avx2/lanes.h"
#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

using avx2::first_lanes;
using avx2::hsum;

constexpr int kMR = 6, kNR = 16;

template <BType BT>
inline const void* b_elem(const void* b, int64_t i) {
  return static_cast<const char*>(b) + i * (BT == BType::F32 ? 4 : 2);
}

// 8 consecutive B elements as float32.
template <BType BT>
inline __m256 load8(const void* p) {
  if (BT == BType::BF16) {
    __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128(static_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
  }
  if (BT == BType::F16) return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
  return _mm256_loadu_ps(static_cast<const float*>(p));
}

// One B element as float32.
template <BType BT>
inline float load1(const void* p) {
  if (BT == BType::BF16) return bf16_to_float(*static_cast<const uint16_t*>(p));
  if (BT == BType::F16) return _cvtsh_ss(*static_cast<const uint16_t*>(p));
  return *static_cast<const float*>(p);
}

// Transposes the 8x8 block held in r[0..7] (row i -> column i).
inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    __m256 t0 = t[4 * h], t1 = t[4 * h + 1], t2 = t[4 * h + 2], t3 = t[4 * h + 3];
    s[4 * h + 0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * h + 2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x31);
  }
}

// One A panel from row-major A (rows of k): 8x8 transposes, stored k by k in increasing order so that
// the 8-wide stores of a partial row group are overwritten by the next k's (hence the packing slack).
template <int MR>
void pack_a_panel_rows(const float* a, int64_t lda, int rows, int64_t kc, float* dst) {
  constexpr int G = (MR + 7) / 8;
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 v[G][8];
    for (int g = 0; g < G; ++g) {
      for (int r = 0; r < 8; ++r)
        v[g][r] = 8 * g + r < rows ? _mm256_loadu_ps(a + (8 * g + r) * lda + k) : _mm256_setzero_ps();
      transpose8(v[g]);
    }
    for (int kk = 0; kk < 8; ++kk)
      for (int g = 0; g < G; ++g) _mm256_storeu_ps(dst + (k + kk) * MR + 8 * g, v[g][kk]);
  }
  for (; k < kc; ++k)
    for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? a[r * lda + k] : 0.0f;
}

// One A panel from column-major A (op(A)[i][k] = a[k * lda + i]): MR contiguous floats per k.
template <int MR>
void pack_a_panel_cols(const float* a, int64_t lda, int rows, int64_t kc, float* dst) {
  if (rows == MR) {
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * MR, a + k * lda, MR * sizeof(float));
    return;
  }
  for (int64_t k = 0; k < kc; ++k)
    for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? a[k * lda + r] : 0.0f;
}

// One B panel from row-major op(B) (rows of n): NR/8 converted vectors per k.
template <int NR, BType BT>
void pack_b_panel_rows(const void* b, int64_t ldb, int cols, int64_t kc, float* dst) {
  if (cols == NR) {
    for (int64_t k = 0; k < kc; ++k)
      for (int g = 0; g < NR / 8; ++g) _mm256_storeu_ps(dst + k * NR + 8 * g, load8<BT>(b_elem<BT>(b, k * ldb + 8 * g)));
    return;
  }
  for (int64_t k = 0; k < kc; ++k)
    for (int j = 0; j < NR; ++j) dst[k * NR + j] = j < cols ? load1<BT>(b_elem<BT>(b, k * ldb + j)) : 0.0f;
}

// One B panel from B stored n-major (op(B)[k][j] = b[j * ldb + k]): converted 8x8 transposes.
template <int NR, BType BT>
void pack_b_panel_cols(const void* b, int64_t ldb, int cols, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int g = 0; g < NR / 8; ++g) {
      __m256 v[8];
      for (int r = 0; r < 8; ++r)
        v[r] = 8 * g + r < cols ? load8<BT>(b_elem<BT>(b, (8 * g + r) * ldb + k)) : _mm256_setzero_ps();
      transpose8(v);
      for (int kk = 0; kk < 8; ++kk) _mm256_storeu_ps(dst + (k + kk) * NR + 8 * g, v[kk]);
    }
  }
  for (; k < kc; ++k)
    for (int j = 0; j < NR; ++j) dst[k * NR + j] = j < cols ? load1<BT>(b_elem<BT>(b, j * ldb + k)) : 0.0f;
}

// Row-major op(B) goes in bands of kBandRows rows across every panel: panel by panel, each row of
// the band would be revisited once per 16 columns, every visit on another page when rows are long
// (a Conv1D weight's rows are 9-12 KB), and the TLB misses made packing slower than the product.
constexpr int64_t kBandRows = 8;
// Each band asks for the rows this many bands on: B streams from memory once per product, and a band's
// rows, a row stride apart, are short runs the hardware prefetchers barely follow. GPT-2's 16-row
// serving products (Conv1D, bf16; bench/serve.ts 16 streams, Sapphire Rapids, alternated 6 x 2): the
// four products 1.85 -> 1.65 s over a run (the 3072- and 2304-column ones -15 %), 260-268 -> 261-287
// tok/s; 2 bands ahead: no change, 8: as 4.
constexpr int64_t kAheadBands = 4;

template <int NR, BType BT>
void pack_b_as(bool trans, const void* b, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  if (trans) {
    for (int64_t j0 = 0; j0 < nc; j0 += NR)
      pack_b_panel_cols<NR, BT>(b_elem<BT>(b, j0 * ldb), ldb, static_cast<int>(std::min<int64_t>(NR, nc - j0)), kc, dst + j0 * kc);
    return;
  }
  const int64_t row_bytes = nc * (BT == BType::F32 ? 4 : 2);
  for (int64_t k0 = 0; k0 < kc; k0 += kBandRows) {
    const int64_t rows = std::min(kBandRows, kc - k0);
    for (int64_t r = k0 + kAheadBands * kBandRows; r < std::min(kc, k0 + (kAheadBands + 1) * kBandRows); ++r)
      for (int64_t byte = 0; byte < row_bytes; byte += 64)
        _mm_prefetch(static_cast<const char*>(b_elem<BT>(b, r * ldb)) + byte, _MM_HINT_T0);
    for (int64_t j0 = 0; j0 < nc; j0 += NR)
      pack_b_panel_rows<NR, BT>(b_elem<BT>(b, k0 * ldb + j0), ldb, static_cast<int>(std::min<int64_t>(NR, nc - j0)), rows,
                                dst + j0 * kc + k0 * NR);
  }
}

// The register tile, R rows of it (R = 6 but in a panel's last rows: computing only the rows that
// exist saves what the zero padding would cost): C[0:R, 0:16] = alpha * sum_k pa[k*6 + i] * pb[k*16 + j]
// + beta * C, 2R ymm accumulators (the unroll pragmas keep them in registers), A broadcast and B loaded
// per k. Each row's sum runs in the same order whatever R is. A partial column panel goes through a
// local buffer.
template <int R>
void tile(int64_t kc, const float* pa, const float* pb, float alpha, float beta, float* c, int64_t ldc, int n) {
  __m256 acc[R][2];
  #pragma GCC unroll 16
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  #pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNR - 1), _MM_HINT_T0);
  }
  #pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k, pa += kMR, pb += kNR) {
    const __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
    #pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m256 a = _mm256_broadcast_ss(pa + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (n == kNR) {  // all loads of C before any store: C rows 4 KB apart would alias
    #pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) {
        acc[i][h] = _mm256_mul_ps(va, acc[i][h]);
        if (beta != 0.0f) acc[i][h] = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + i * ldc + 8 * h), acc[i][h]);
      }
    #pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
      #pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) _mm256_storeu_ps(c + i * ldc + 8 * h, acc[i][h]);
    return;
  }
  alignas(32) float tmp[R * kNR];
  #pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
    #pragma GCC unroll 16
    for (int h = 0; h < 2; ++h) _mm256_store_ps(tmp + i * kNR + 8 * h, _mm256_mul_ps(va, acc[i][h]));
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? tmp[i * kNR + j] : tmp[i * kNR + j] + beta * c[i * ldc + j];
}

using TileFn = void (*)(int64_t, const float*, const float*, float, float, float*, int64_t, int);
constexpr TileFn kTileByRows[kMR] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

// C[0:mc, 0:nc] = alpha * packedA * packedB + beta * C, tile by tile (B panel outer, A panels inner).
void macro_6x16(int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb, float alpha, float beta, float* c,
                int64_t ldc) {
  for (int64_t j = 0; j < nc; j += kNR)
    for (int64_t i = 0; i < mc; i += kMR)
      kTileByRows[std::min<int64_t>(kMR, mc - i) - 1](kc, pa + i * kc, pb + j * kc, alpha, beta, c + i * ldc + j, ldc,
                                                       static_cast<int>(std::min<int64_t>(kNR, nc - j)));
}

// R rows x V vectors of a narrow product: A broadcast from where it is stored (each A element is used
// once, so packing it would cost as much as the product), B one packed 16-column panel. Each element is
// one FMA chain over all of K. Columns [n, 16) of the panel are zero and are not stored.
template <int R, int V>
void narrow_block(int64_t K, const float* a, int64_t rsa, int64_t csa, const float* pb, int n, float alpha, float beta,
                  float* c, int64_t ldc) {
  __m256 acc[R][V];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 2
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  #pragma GCC unroll 2
  for (int64_t k = 0; k < K; ++k, a += csa) {
    __m256 b[V];
    #pragma GCC unroll 2
    for (int v = 0; v < V; ++v) b[v] = _mm256_load_ps(pb + k * kNR + 8 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * rsa);
      #pragma GCC unroll 2
      for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(ar, b[v], acc[r][v]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  #pragma GCC unroll 2
  for (int v = 0; v < V; ++v) {
    const __m256i cols = first_lanes(n - 8 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * ldc + 8 * v;
      __m256 x = _mm256_mul_ps(va, acc[r][v]);
      if (beta != 0.0f) x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, cols), x);
      _mm256_maskstore_ps(cr, cols, x);
    }
  }
}

// Up to 8 columns: one vector per row, 12 rows at a time (12 independent FMA chains cover the FMA
// latency on two pipes), then 4, then 1. Up to 16: two per row, 6 rows at a time, then 1.
void narrow_n(int64_t m, int64_t n, int64_t K, const float* a, int64_t rsa, int64_t csa, const float* pb, float alpha,
              float beta, float* c, int64_t ldc) {
  const int cols = static_cast<int>(n);
  int64_t i = 0;
  if (n <= 8) {
    for (; i + 12 <= m; i += 12) narrow_block<12, 1>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
    for (; i + 4 <= m; i += 4) narrow_block<4, 1>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
    for (; i < m; ++i) narrow_block<1, 1>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
    return;
  }
  for (; i + 6 <= m; i += 6) narrow_block<6, 2>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
  for (; i < m; ++i) narrow_block<1, 2>(K, a + i * rsa, rsa, csa, pb, cols, alpha, beta, c + i * ldc, ldc);
}

// The few-row kernels read B in groups of four rows (four interleaved streams), which the hardware
// prefetchers follow poorly: without help they reach about half the memory bandwidth. So while a group
// is read, the same columns of the next group (four rows further, often the next bytes in memory) are
// prefetched, one cache line per row each time `step` (columns read so far) crosses a line. Prefetches
// past the end of B are harmless: they never fault.
// always_inline: a prefetch has no side effects for GCC, so an out-of-line helper counts as a const
// function whose calls are dead code, and GCC 12 deleted them all.
template <BType BT>
__attribute__((always_inline)) inline void prefetch_next_group(const void* const rows[4], int64_t ldb, int64_t step,
                                                               int64_t col) {
  constexpr int64_t kLineElems = 64 / (BT == BType::F32 ? 4 : 2);
  if (step % kLineElems != 0) return;
  for (int r = 0; r < 4; ++r) _mm_prefetch(static_cast<const char*>(b_elem<BT>(rows[r], 4 * ldb + col)), _MM_HINT_T0);
}

// C[0:M, j0:j1] = beta * C (beta == 0: zeros, C not read).
inline void scale_rows(int64_t m, int64_t j0, int64_t j1, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = j0; j < j1; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

// M rows, op(B) row-major: C[:, j0:j1] = beta * C + alpha * A * B, streaming four B rows at a time once.
// Each 8 columns of the four rows are converted once and used for all M rows of C, which stay in L1/L2.
template <BType BT, int M>
void small_m_rows(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, int64_t ldb,
                  float alpha, float beta, float* c, int64_t ldc) {
  scale_rows(M, j0, j1, beta, c, ldc);
  for (int64_t k = 0; k < K; k += 4) {
    const int kn = static_cast<int>(std::min<int64_t>(4, K - k));
    const void* rows[4];
    for (int r = 0; r < 4; ++r) rows[r] = b_elem<BT>(b, (k + std::min(r, kn - 1)) * ldb);
    float as[M][4];
    __m256 av[M][4];
    for (int i = 0; i < M; ++i)
      for (int r = 0; r < 4; ++r) {
        as[i][r] = r < kn ? alpha * a[i * lda + k + r] : 0.0f;
        av[i][r] = _mm256_set1_ps(as[i][r]);
      }
    int64_t j = j0;
    for (; j + 8 <= j1; j += 8) {
      prefetch_next_group<BT>(rows, ldb, j - j0, j);
      __m256 bv[4];
      for (int r = 0; r < 4; ++r) bv[r] = load8<BT>(b_elem<BT>(rows[r], j));
      for (int i = 0; i < M; ++i) {
        float* ci = c + i * ldc + j;
        __m256 v = _mm256_loadu_ps(ci);
        for (int r = 0; r < 4; ++r) v = _mm256_fmadd_ps(av[i][r], bv[r], v);
        _mm256_storeu_ps(ci, v);
      }
    }
    for (; j < j1; ++j)
      for (int r = 0; r < kn; ++r) {
        const float bj = load1<BT>(b_elem<BT>(rows[r], j));
        for (int i = 0; i < M; ++i) c[i * ldc + j] += as[i][r] * bj;
      }
  }
}

// M rows, B stored n-major: each C element is a dot product of an A row with a B row. Four B rows at a
// time against two A rows at a time (eight 8-wide accumulators); the B rows stay in L1 for the
// other pairs of A rows.
template <BType BT, int M>
void small_m_cols(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, const void* b, int64_t ldb,
                  float alpha, float beta, float* c, int64_t ldc) {
  for (int64_t j = j0; j < j1; j += 4) {
    const int jn = static_cast<int>(std::min<int64_t>(4, j1 - j));
    const void* rows[4];
    for (int r = 0; r < 4; ++r) rows[r] = b_elem<BT>(b, (j + std::min(r, jn - 1)) * ldb);
    for (int i0 = 0; i0 < M; i0 += 2) {
      constexpr int kPair = M == 1 ? 1 : 2;
      const int im = std::min(kPair, M - i0);
      const float* ai[2] = {a + i0 * lda, a + (i0 + im - 1) * lda};
      __m256 acc[kPair][4];
      for (int i = 0; i < kPair; ++i)
        for (int r = 0; r < 4; ++r) acc[i][r] = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) {
        if (i0 == 0) prefetch_next_group<BT>(rows, ldb, k, k);
        __m256 bv[4];
        for (int r = 0; r < 4; ++r) bv[r] = load8<BT>(b_elem<BT>(rows[r], k));
        for (int i = 0; i < kPair; ++i) {
          const __m256 av = _mm256_loadu_ps(ai[i] + k);
          for (int r = 0; r < 4; ++r) acc[i][r] = _mm256_fmadd_ps(av, bv[r], acc[i][r]);
        }
      }
      for (int i = 0; i < im; ++i)
        for (int r = 0; r < jn; ++r) {
          float sum = hsum(acc[i][r]);
          for (int64_t kk = k; kk < K; ++kk) sum += ai[i][kk] * load1<BT>(b_elem<BT>(rows[r], kk));
          float* cij = c + (i0 + i) * ldc + j + r;
          *cij = beta == 0.0f ? alpha * sum : std::fma(beta, *cij, alpha * sum);  // fused for every row alike
        }
    }
  }
}

template <BType BT, int M>
void small_m_fixed(int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, bool trans, const void* b,
                   int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  if (trans) return small_m_cols<BT, M>(j0, j1, K, a, lda, b, ldb, alpha, beta, c, ldc);
  small_m_rows<BT, M>(j0, j1, K, a, lda, b, ldb, alpha, beta, c, ldc);
}

// The kernels above for M = m (1 <= m <= kSmallM), with the row count known at compile time so that
// the per-row loops unroll and their accumulators stay in registers.
template <BType BT>
void small_m_as(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, bool trans, const void* b,
                int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  static_assert(kSmallM == 8, "one instantiation per row count");
  using Fn = void (*)(int64_t, int64_t, int64_t, const float*, int64_t, bool, const void*, int64_t, float, float,
                      float*, int64_t);
  static constexpr Fn kByRows[kSmallM] = {small_m_fixed<BT, 1>, small_m_fixed<BT, 2>, small_m_fixed<BT, 3>,
                                          small_m_fixed<BT, 4>, small_m_fixed<BT, 5>, small_m_fixed<BT, 6>,
                                          small_m_fixed<BT, 7>, small_m_fixed<BT, 8>};
  kByRows[m - 1](j0, j1, K, a, lda, trans, b, ldb, alpha, beta, c, ldc);
}

}  // namespace

template <int MR>
void pack_a_avx2(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    if (trans) {
      pack_a_panel_cols<MR>(a + i0, lda, rows, kc, dst);
    } else {
      pack_a_panel_rows<MR>(a + i0 * lda, lda, rows, kc, dst);
    }
  }
}

template <int NR>
void pack_b_avx2(bool trans, const void* b, BType bt, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  if (bt == BType::BF16) return pack_b_as<NR, BType::BF16>(trans, b, ldb, kc, nc, dst);
  if (bt == BType::F16) return pack_b_as<NR, BType::F16>(trans, b, ldb, kc, nc, dst);
  pack_b_as<NR, BType::F32>(trans, b, ldb, kc, nc, dst);
}

template void pack_a_avx2<6>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_a_avx2<12>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_b_avx2<16>(bool, const void*, BType, int64_t, int64_t, int64_t, float*);
template void pack_b_avx2<32>(bool, const void*, BType, int64_t, int64_t, int64_t, float*);

void small_m_avx2(int64_t m, int64_t j0, int64_t j1, int64_t K, const float* a, int64_t lda, bool trans, const void* b,
                  BType bt, int64_t ldb, float alpha, float beta, float* c, int64_t ldc) {
  if (trans && bt != BType::F16 && ldb * (bt == BType::F32 ? 4 : 2) <= kGemvShortRowBytes) {
    return gemv_nk_avx2(m, j0, j1, K, a, lda, b, bt, ldb, alpha, beta, c, ldc);
  }
  if (bt == BType::BF16) return small_m_as<BType::BF16>(m, j0, j1, K, a, lda, trans, b, ldb, alpha, beta, c, ldc);
  if (bt == BType::F16) return small_m_as<BType::F16>(m, j0, j1, K, a, lda, trans, b, ldb, alpha, beta, c, ldc);
  small_m_as<BType::F32>(m, j0, j1, K, a, lda, trans, b, ldb, alpha, beta, c, ldc);
}

const Kernels<float>& kernels_f32_avx2() {
  static const Kernels<float> k{kMR, kNR, pack_a_avx2<kMR>, pack_b_avx2<kNR>, macro_6x16, small_m_avx2, narrow_n, 256};
  return k;
}

}  // namespace peftjs::gemm_detail
