// Level-1 vector kernels on contiguous data, written so that -O3 vectorises them without
// -ffast-math (independent partial sums). Used by the Householder, rotation and LU kernels.
#pragma once
#include <cstdint>

namespace peftjs {
namespace linalg {

// Sum of x[i] * y[i], with 8 independent accumulators.
template <typename T>
inline T dot(const T* x, const T* y, int64_t n) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l] * y[i + l];
  }
  T sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

// y[i] += alpha * x[i].
template <typename T>
inline void axpy(T alpha, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// (x, y) <- (c x + s y, c y - s x): a plane rotation of two vectors.
template <typename T>
inline void rot(T c, T s, T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T xi = x[i], yi = y[i];
    x[i] = c * xi + s * yi;
    y[i] = c * yi - s * xi;
  }
}

}  // namespace linalg
}  // namespace peftjs
