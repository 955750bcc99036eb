// AVX-512 few-row kernels of ggml's block types (native/src/ggml/gemv_impl.h with 16-float vectors).
#include <immintrin.h>

// GCC 12's AVX-512 headers initialise a placeholder from itself (`__m512 __Y = __Y;`) in
// _mm512_reduce_add_ps, which -Wmaybe-uninitialized reports once inlined here: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "ggml/gemv_impl.h"

namespace peftjs::ggml::detail {
namespace {

struct V512 {
  using T = __m512;
  static constexpr int kWidth = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(T v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace

Gemv gemv_avx512(Type t) { return gemv_for<V512>(t); }

}  // namespace peftjs::ggml::detail
