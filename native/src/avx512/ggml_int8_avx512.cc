// AVX-512 VNNI kernel of the integer path over ggml blocks (native/src/ggml/int8_dot.h): a pair of
// blocks per 512-bit vector, vpdpbusd of the activations (+128, unsigned) by the int8 weights started
// from the -128 · Σw correction, a tile of 4 rows of x by 2 rows of W. Compiled for VNNI by a target
// attribute; int8_linear.cc calls it only where the CPU has VNNI.
#include <immintrin.h>

// GCC 12's AVX-512 headers initialise placeholders from themselves (`__m512 __Y = __Y;`), which the
// uninitialised-use warnings report once inlined here: false positives (as in ggml_avx512.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ggml/int8_dot.h"

namespace peftjs::ggml::detail {
namespace {

#define PEFTJS_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

// [s[0] x 8, s[1] x 8]: the scales of a pair of blocks, spread over the lanes of their blocks.
PEFTJS_VNNI inline __m512 pair_scales(const float* s) {
  const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(s)))));
}

// lane_tree of int8_dot.h on a vector.
PEFTJS_VNNI inline float lane_tree(__m512 a) {
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

template <int MI, int NJ>
PEFTJS_VNNI void tile(const Q8Acts& x, int64_t i0, const I8Weights& w, int64_t j0, float* y, int64_t ldy) {
  const int64_t nbp = x.nbp, stride = nbp * kQ8Block;
  __m512 acc[MI][NJ];
  for (int i = 0; i < MI; ++i)
    for (int j = 0; j < NJ; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nbp; b += 2) {
    __m512i wv[NJ], nv[NJ];
    __m512 sv[NJ];
    for (int j = 0; j < NJ; ++j) {
      wv[j] = _mm512_loadu_si512(w.w + (j0 + j) * stride + b * kQ8Block);
      nv[j] = _mm512_loadu_si512(w.nws + ((j0 + j) * nbp + b) * 8);
      sv[j] = pair_scales(w.sw + (j0 + j) * nbp + b);
    }
    for (int i = 0; i < MI; ++i) {
      const __m512i xv = _mm512_loadu_si512(x.xu + (i0 + i) * stride + b * kQ8Block);
      const __m512 dv = pair_scales(x.dx + (i0 + i) * nbp + b);
      for (int j = 0; j < NJ; ++j) {
        const __m512 s = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(nv[j], xv, wv[j]));
        acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(sv[j], dv), s, acc[i][j]);
      }
    }
  }
  for (int i = 0; i < MI; ++i)
    for (int j = 0; j < NJ; ++j) y[(i0 + i) * ldy + j0 + j] = lane_tree(acc[i][j]);
}

template <int MI>
PEFTJS_VNNI void tile_rows(const Q8Acts& x, int64_t i0, const I8Weights& w, int64_t n, float* y, int64_t ldy) {
  int64_t j = 0;
  for (; j + 2 <= n; j += 2) tile<MI, 2>(x, i0, w, j, y, ldy);
  if (j < n) tile<MI, 1>(x, i0, w, j, y, ldy);
}

PEFTJS_VNNI void int_dot(const Q8Acts& x, int64_t m, const I8Weights& w, int64_t n, float* y, int64_t ldy) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) tile_rows<4>(x, i, w, n, y, ldy);
  switch (m - i) {
    case 3: return tile_rows<3>(x, i, w, n, y, ldy);
    case 2: return tile_rows<2>(x, i, w, n, y, ldy);
    case 1: return tile_rows<1>(x, i, w, n, y, ldy);
    default: return;
  }
}

}  // namespace

IntDot int_dot_avx512_vnni() { return int_dot; }

}  // namespace peftjs::ggml::detail
