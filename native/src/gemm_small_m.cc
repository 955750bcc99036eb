// The few-row bf16 driver (gemm_small_m.h): shares C's columns out among the threads; and the
// portable kernel.
#include "gemm_small_m.h"

#include <algorithm>

#include "cpu.h"
#include "gemm.h"
#include "thread_scratch.h"
#include "threadpool.h"

#include "gemm_small_m_kernel.h"

namespace peftjs::gemm_small_m {
namespace {

// Eight plain floats: the portable tile's arithmetic (unfused a * b + c, alpha * acc + beta * c),
// vectorised by the compiler.
struct Plain8 {
  static constexpr int kLanes = 8, kStripVectors = 2, kTileRows = 4;
  struct T {
    float x[8];
  };
  static T zero() { return set1(0.0f); }
  static T set1(float s) {
    T r;
    for (float& x : r.x) x = s;
    return r;
  }
  static T load(const float* p) { return loadu(p); }
  static T loadu(const float* p) {
    T r;
    for (int l = 0; l < 8; ++l) r.x[l] = p[l];
    return r;
  }
  static void storeu(float* p, const T& v) {
    for (int l = 0; l < 8; ++l) p[l] = v.x[l];
  }
  static T broadcast(const float* p) { return set1(*p); }
  static T fma(const T& a, const T& b, const T& c) {
    T r;
    for (int l = 0; l < 8; ++l) r.x[l] = c.x[l] + a.x[l] * b.x[l];
    return r;
  }
  static T mul(const T& a, const T& b) {
    T r;
    for (int l = 0; l < 8; ++l) r.x[l] = a.x[l] * b.x[l];
    return r;
  }
  // beta * c joined to a block's scaled sum x.
  static T join(const T& beta, const T& c, const T& x) {
    T r;
    for (int l = 0; l < 8; ++l) r.x[l] = join1(beta.x[l], c.x[l], x.x[l]);
    return r;
  }
  static float join1(float beta, float c, float x) { return x + beta * c; }
  // dst[k * stride + r] = src[r * ldb + k] widened, r < rows (zeros beyond), k < 8.
  static void transpose_widen(const uint16_t* src, int64_t ldb, int rows, float* dst, int64_t stride) {
    for (int k = 0; k < 8; ++k)
      for (int r = 0; r < 8; ++r) dst[k * stride + r] = r < rows ? gemm_detail::bf16_to_float(src[r * ldb + k]) : 0.0f;
  }
};

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

const Kernel& active_kernel() {
#if PEFTJS_X86
  switch (simd_level()) {
    case Simd::Avx512:
      return kernel_avx512();
    case Simd::Avx2:
      return kernel_avx2();
    default:
      break;
  }
#endif
  return kernel_portable();
}

}  // namespace

const Kernel& kernel_portable() {
  static const Kernel k{columns<Plain8>, Plain8::kLanes * Plain8::kStripVectors};
  return k;
}

bool takes(int64_t M, bool transB) {
  return PEFTJS_X86 && transB && M > gemm_detail::kSmallM && M <= kMaxRows;
}

void sgemm_bf16(int64_t M, int64_t N, int64_t K, int64_t kc, float alpha, const float* A, int64_t lda,
                const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads) {
  const Kernel& kern = active_kernel();
  // Tasks of whole strips, about eight per thread, so that a thread slowed by other load is evened out.
  const int64_t width = threads == 1 ? N : round_up((N + 8 * threads - 1) / (8 * threads), kern.strip);
  const int64_t tasks = (N + width - 1) / width;
  auto task = [&](int64_t t) {
    kern.columns(M, t * width, std::min(N, (t + 1) * width), K, kc, A, lda, B, ldb, alpha, beta, C, ldc);
  };
  if (tasks == 1) return task(0);
  parallel_for(tasks, task);
}

}  // namespace peftjs::gemm_small_m
