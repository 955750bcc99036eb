// The AVX2 + FMA tile product of flash attention: a 6 x 2-vector register-blocked micro-kernel
// (BLIS's Haswell shape) over float or double. Only for files built with -mavx2 -mfma.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace peftjs::nn {
namespace {

template <typename T>
struct Avx;

template <>
struct Avx<float> {
  using Reg = __m256;
  static constexpr int kLanes = 8;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static Reg load(const float* p, __m256i mask) { return _mm256_maskload_ps(p, mask); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static void store(float* p, __m256i mask, Reg v) { _mm256_maskstore_ps(p, mask, v); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static __m256i first(int64_t n) {  // lanes [0, n) on
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

template <>
struct Avx<double> {
  using Reg = __m256d;
  static constexpr int kLanes = 4;
  static Reg zero() { return _mm256_setzero_pd(); }
  static Reg load(const double* p) { return _mm256_loadu_pd(p); }
  static Reg load(const double* p, __m256i mask) { return _mm256_maskload_pd(p, mask); }
  static void store(double* p, Reg v) { _mm256_storeu_pd(p, v); }
  static void store(double* p, __m256i mask, Reg v) { _mm256_maskstore_pd(p, mask, v); }
  static Reg broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  static __m256i first(int64_t n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
};

// C[MR rows x NV vectors] (+)= A * B over K; with kTail the last vector only touches the lanes in
// `tail`. The 12 accumulators are named variables: GCC keeps an array of them in memory.
template <typename T, int MR, int NV, bool kTail>
inline void micro_kernel(int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t ldb, T* C, int64_t ldc,
                         bool accumulate, __m256i tail) {
  using V = Avx<T>;
  using Reg = typename V::Reg;
  auto load = [&](const T* p, int v) { return kTail && v == NV - 1 ? V::load(p, tail) : V::load(p); };
  auto init = [&](int r, int v) {
    return r < MR && v < NV && accumulate ? load(C + r * ldc + v * V::kLanes, v) : V::zero();
  };
  Reg c00 = init(0, 0), c01 = init(0, 1), c10 = init(1, 0), c11 = init(1, 1), c20 = init(2, 0), c21 = init(2, 1);
  Reg c30 = init(3, 0), c31 = init(3, 1), c40 = init(4, 0), c41 = init(4, 1), c50 = init(5, 0), c51 = init(5, 1);
  for (int64_t k = 0; k < K; ++k) {
    const T* b = B + k * ldb;
    const Reg b0 = load(b, 0);
    const Reg b1 = NV > 1 ? load(b + V::kLanes, 1) : V::zero();
    const T* a = A + k * csa;
    auto row = [&](Reg& x0, Reg& x1, int r) {
      const Reg ar = V::broadcast(a + r * rsa);
      x0 = V::fma(ar, b0, x0);
      if (NV > 1) x1 = V::fma(ar, b1, x1);
    };
    if (MR > 0) row(c00, c01, 0);
    if (MR > 1) row(c10, c11, 1);
    if (MR > 2) row(c20, c21, 2);
    if (MR > 3) row(c30, c31, 3);
    if (MR > 4) row(c40, c41, 4);
    if (MR > 5) row(c50, c51, 5);
  }
  auto store = [&](int r, Reg x0, Reg x1) {
    if (r >= MR) return;
    T* p = C + r * ldc;
    if (kTail && NV == 1) V::store(p, tail, x0); else V::store(p, x0);
    if (NV > 1) {
      if (kTail) V::store(p + V::kLanes, tail, x1); else V::store(p + V::kLanes, x1);
    }
  };
  store(0, c00, c01);
  store(1, c10, c11);
  store(2, c20, c21);
  store(3, c30, c31);
  store(4, c40, c41);
  store(5, c50, c51);
}

// All M rows of one column panel: 6 rows at a time, then the remainder.
template <typename T, int NV, bool kTail>
void panel(int64_t M, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t ldb, T* C, int64_t ldc,
           bool accumulate, __m256i tail) {
  int64_t m = 0;
  for (; m + 6 <= M; m += 6) {
    micro_kernel<T, 6, NV, kTail>(K, A + m * rsa, rsa, csa, B, ldb, C + m * ldc, ldc, accumulate, tail);
  }
  const T* a = A + m * rsa;
  T* c = C + m * ldc;
  switch (M - m) {
    case 5: return micro_kernel<T, 5, NV, kTail>(K, a, rsa, csa, B, ldb, c, ldc, accumulate, tail);
    case 4: return micro_kernel<T, 4, NV, kTail>(K, a, rsa, csa, B, ldb, c, ldc, accumulate, tail);
    case 3: return micro_kernel<T, 3, NV, kTail>(K, a, rsa, csa, B, ldb, c, ldc, accumulate, tail);
    case 2: return micro_kernel<T, 2, NV, kTail>(K, a, rsa, csa, B, ldb, c, ldc, accumulate, tail);
    case 1: return micro_kernel<T, 1, NV, kTail>(K, a, rsa, csa, B, ldb, c, ldc, accumulate, tail);
    default: return;
  }
}

template <typename T>
struct AvxGemm {
  // C[M x N] (+)= A * B for small tiles: A(m, k) = A[m * rsa + k * csa]; B, C row-major.
  static void run(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t ldb,
                  T* C, int64_t ldc, bool accumulate) {
    constexpr int64_t L = Avx<T>::kLanes;
    const __m256i all = _mm256_set1_epi32(-1);
    int64_t n = 0;
    for (; n + 2 * L <= N; n += 2 * L) panel<T, 2, false>(M, K, A, rsa, csa, B + n, ldb, C + n, ldc, accumulate, all);
    const int64_t rest = N - n;
    if (rest > L) {
      panel<T, 2, true>(M, K, A, rsa, csa, B + n, ldb, C + n, ldc, accumulate, Avx<T>::first(rest - L));
    } else if (rest == L) {
      panel<T, 1, false>(M, K, A, rsa, csa, B + n, ldb, C + n, ldc, accumulate, all);
    } else if (rest > 0) {
      panel<T, 1, true>(M, K, A, rsa, csa, B + n, ldb, C + n, ldc, accumulate, Avx<T>::first(rest));
    }
  }
};

}  // namespace
}  // namespace peftjs::nn
