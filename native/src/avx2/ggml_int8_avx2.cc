// AVX2 kernel of the integer path over ggml blocks (native/src/ggml/int8_dot.h): one block per 256-bit
// vector, vpmaddubsw of |w| by x signed as w (ggml's mul_sum_i8_pairs; |w| ≤ 128 and |x| ≤ 127 cannot
// saturate) and vpmaddwd into the 8 lanes; even and odd blocks in two accumulators, which are the two
// halves of the 16 lanes of the reference arithmetic. A tile of 2 rows of x by 2 rows of W.
#include <immintrin.h>

#include "ggml/int8_dot.h"

namespace peftjs::ggml::detail {
namespace {

// lane_tree of int8_dot.h: lo holds lanes 0-7, hi lanes 8-15.
inline float lane_tree(__m256 lo, __m256 hi) {
  const __m256 s8 = _mm256_add_ps(lo, hi);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

template <int MI, int NJ>
void tile(const Q8Acts& x, int64_t i0, const I8Weights& w, int64_t j0, float* y, int64_t ldy) {
  const int64_t nbp = x.nbp, stride = nbp * kQ8Block;
  const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[2][MI][NJ];
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < MI; ++i)
      for (int j = 0; j < NJ; ++j) acc[h][i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nbp; ++b) {
    const int h = static_cast<int>(b & 1);
    __m256i wv[NJ], aw[NJ];
    __m256 sv[NJ];
    for (int j = 0; j < NJ; ++j) {
      wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.w + (j0 + j) * stride + b * kQ8Block));
      aw[j] = _mm256_sign_epi8(wv[j], wv[j]);
      sv[j] = _mm256_broadcast_ss(w.sw + (j0 + j) * nbp + b);
    }
    for (int i = 0; i < MI; ++i) {
      const __m256i xs = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.xu + (i0 + i) * stride + b * kQ8Block)), flip);
      const __m256 dv = _mm256_broadcast_ss(x.dx + (i0 + i) * nbp + b);
      for (int j = 0; j < NJ; ++j) {
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[j], _mm256_sign_epi8(xs, wv[j])), ones);
        acc[h][i][j] = _mm256_fmadd_ps(_mm256_mul_ps(sv[j], dv), _mm256_cvtepi32_ps(p), acc[h][i][j]);
      }
    }
  }
  for (int i = 0; i < MI; ++i)
    for (int j = 0; j < NJ; ++j) y[(i0 + i) * ldy + j0 + j] = lane_tree(acc[0][i][j], acc[1][i][j]);
}

template <int MI>
void tile_rows(const Q8Acts& x, int64_t i0, const I8Weights& w, int64_t n, float* y, int64_t ldy) {
  int64_t j = 0;
  for (; j + 2 <= n; j += 2) tile<MI, 2>(x, i0, w, j, y, ldy);
  if (j < n) tile<MI, 1>(x, i0, w, j, y, ldy);
}

void int_dot(const Q8Acts& x, int64_t m, const I8Weights& w, int64_t n, float* y, int64_t ldy) {
  int64_t i = 0;
  for (; i + 2 <= m; i += 2) tile_rows<2>(x, i, w, n, y, ldy);
  if (i < m) tile_rows<1>(x, i, w, n, y, ldy);
}

}  // namespace

IntDot int_dot_avx2() { return int_dot; }

}  // namespace peftjs::ggml::detail
