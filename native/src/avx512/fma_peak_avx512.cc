// 512-bit FMA chains for the FMA peak measurement: 16 independent zmm accumulators.
#include <immintrin.h>

#include "fma_peak.h"

namespace peftjs::fma_detail {
namespace {
volatile float sink;
}  // namespace

// acc = acc * m + add on 16 independent chains for `rounds` rounds (values stay bounded near 1).
double fma_rounds_512(int64_t rounds) {
  constexpr int kChains = 16;
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + c * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], m, add);
  }
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += _mm512_cvtss_f32(acc[c]);
  sink = s;
  return 2.0 * kChains * 16 * static_cast<double>(rounds);
}

}  // namespace peftjs::fma_detail
