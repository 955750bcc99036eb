// Portable GEMM kernels (plain C++ the compiler vectorises): float32 4x8 and float64 4x4 tiles.
// Used when the CPU has no AVX2 (or PEFTJS_SIMD=portable) and for all float64 products.
#include <algorithm>

#include "gemm.h"

namespace peftjs::gemm_detail {
namespace {

// Packs op(A)[0:mc, 0:kc] into MR-row panels (panel[k * MR + i]), zero-padded.
template <typename T, int MR>
void pack_a(bool trans, const T* a, int64_t lda, int64_t mc, int64_t kc, T* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    for (int64_t k = 0; k < kc; ++k)
      for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? (trans ? a[k * lda + i0 + r] : a[(i0 + r) * lda + k]) : T(0);
  }
}

// Packs op(B)[0:kc, 0:nc] into NR-column panels (panel[k * NR + j]), zero-padded, converted to T.
template <typename T, int NR, BType BT>
void pack_b_as(bool trans, const void* b, int64_t ldb, int64_t kc, int64_t nc, T* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j0));
    for (int64_t k = 0; k < kc; ++k)
      for (int j = 0; j < NR; ++j)
        dst[k * NR + j] = j < cols ? load_b<T>(b, BT, trans ? (j0 + j) * ldb + k : k * ldb + j0 + j) : T(0);
  }
}

template <typename T, int NR>
void pack_b(bool trans, const void* b, BType bt, int64_t ldb, int64_t kc, int64_t nc, T* dst) {
  if (bt == BType::BF16) return pack_b_as<T, NR, BType::BF16>(trans, b, ldb, kc, nc, dst);
  if (bt == BType::F16) return pack_b_as<T, NR, BType::F16>(trans, b, ldb, kc, nc, dst);
  pack_b_as<T, NR, BType::F32>(trans, b, ldb, kc, nc, dst);
}

// C[0:mc, 0:nc] = alpha * packedA * packedB + beta * C, one MR x NR register tile at a time.
template <typename T, int MR, int NR>
void macro(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* pb, T alpha, T beta, T* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    for (int64_t i0 = 0; i0 < mc; i0 += MR) {
      const T* a = pa + i0 * kc;
      const T* b = pb + j0 * kc;
      T acc[MR][NR] = {};
      for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
        for (int i = 0; i < MR; ++i)
          for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
      const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
      const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j0));
      for (int i = 0; i < rows; ++i) {
        T* ci = c + (i0 + i) * ldc + j0;
        for (int j = 0; j < cols; ++j) ci[j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * ci[j];
      }
    }
  }
}

template <typename T, int MR, int NR>
Kernels<T> portable() {
  return {MR, NR, pack_a<T, MR>, pack_b<T, NR>, macro<T, MR, NR>, nullptr, nullptr, 0};
}

}  // namespace

const Kernels<float>& kernels_f32_portable() {
  static const Kernels<float> k = portable<float, 4, 8>();
  return k;
}

const Kernels<double>& kernels_f64_portable() {
  static const Kernels<double> k = portable<double, 4, 4>();
  return k;
}

}  // namespace peftjs::gemm_detail
