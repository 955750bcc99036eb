// 128- and 256-bit FMA chains for the FMA peak measurement: 12 independent accumulators cover the
// FMA latency x throughput (4 cycles x 2 pipes on Zen 3 and recent Intel cores).
#include <immintrin.h>

#include "fma_peak.h"

namespace peftjs::fma_detail {
namespace {

volatile float sink;

// acc = acc * m + add on 12 independent chains for `rounds` rounds (values stay bounded near 1).
template <typename V, V (*Set1)(float), V (*Fma)(V, V, V), float (*First)(V)>
double rounds_of(int64_t rounds) {
  constexpr int kChains = 12;
  V acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Set1(1.0f + c * 1e-3f);
  const V m = Set1(0.999999f), add = Set1(1e-6f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = Fma(acc[c], m, add);
  }
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += First(acc[c]);
  sink = s;
  return 2.0 * kChains * (sizeof(V) / sizeof(float)) * static_cast<double>(rounds);
}

__m128 set1_128(float x) { return _mm_set1_ps(x); }
__m128 fma_128(__m128 a, __m128 b, __m128 c) { return _mm_fmadd_ps(a, b, c); }
float first_128(__m128 v) { return _mm_cvtss_f32(v); }
__m256 set1_256(float x) { return _mm256_set1_ps(x); }
__m256 fma_256(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
float first_256(__m256 v) { return _mm256_cvtss_f32(v); }

}  // namespace

double fma_rounds_128(int64_t rounds) { return rounds_of<__m128, set1_128, fma_128, first_128>(rounds); }
double fma_rounds_256(int64_t rounds) { return rounds_of<__m256, set1_256, fma_256, first_256>(rounds); }

}  // namespace peftjs::fma_detail
