// The portable tile product of flash attention: plain loops the compiler vectorises.
#pragma once
#include <cstdint>

namespace peftjs::nn {
namespace {

template <typename T>
struct LoopGemm {
  // C[M x N] (+)= A * B for small tiles: A(m, k) = A[m * rsa + k * csa]; B, C row-major.
  static void run(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t ldb,
                  T* C, int64_t ldc, bool accumulate) {
    for (int64_t m = 0; m < M; ++m) {
      T* __restrict c = C + m * ldc;
      if (!accumulate) {
        for (int64_t n = 0; n < N; ++n) c[n] = 0;
      }
      for (int64_t k = 0; k < K; ++k) {
        const T a = A[m * rsa + k * csa];
        const T* __restrict b = B + k * ldb;
        for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
      }
    }
  }
};

}  // namespace
}  // namespace peftjs::nn
