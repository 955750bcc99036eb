// The portable few-row kernels of ggml's block types, and the choice of kernels for this CPU.
#include "cpu.h"
#include "ggml/gemv_impl.h"

namespace peftjs::ggml::detail {
namespace {

struct Scalar {  // 8 independent float sums, so the compiler may vectorise them on any x86-64
  struct T {
    float v[8];
  };
  static constexpr int kWidth = 8;
  static T zero() { return T{}; }
  static T load(const float* p) {
    T r;
    for (int l = 0; l < 8; ++l) r.v[l] = p[l];
    return r;
  }
  static T fma(T a, T b, T c) {
    for (int l = 0; l < 8; ++l) c.v[l] += a.v[l] * b.v[l];
    return c;
  }
  static float sum(T a) {
    float s = 0.0f;
    for (int l = 0; l < 8; ++l) s += a.v[l];
    return s;
  }
};

}  // namespace

Gemv gemv_portable(Type t) { return gemv_for<Scalar>(t); }

Gemv gemv_for_cpu(Type t) {
#if PEFTJS_X86
  switch (simd_level()) {
    case Simd::Avx512:
      return gemv_avx512(t);
    case Simd::Avx2:
      return gemv_avx2(t);
    default:
      break;
  }
#endif
  return gemv_portable(t);
}

}  // namespace peftjs::ggml::detail
