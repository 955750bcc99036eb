// AVX2 few-row kernels of ggml's block types (native/src/ggml/gemv_impl.h with 8-float vectors).
#include <immintrin.h>

#include "ggml/gemv_impl.h"

namespace peftjs::ggml::detail {
namespace {

struct V256 {
  using T = __m256;
  static constexpr int kWidth = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(T v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
  }
};

}  // namespace

Gemv gemv_avx2(Type t) { return gemv_for<V256>(t); }

}  // namespace peftjs::ggml::detail
