// Small 8-lane helpers shared by the AVX2 kernels. Included only by files built with -mavx2.
#pragma once
#include <immintrin.h>

namespace peftjs::avx2 {

// Lanes [0, n) of an 8-float vector as a mask for maskload/maskstore (n may be outside 0..8).
inline __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The sum of the 8 lanes: the two halves, then pairs, then the last two (one fixed order).
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

}  // namespace peftjs::avx2
