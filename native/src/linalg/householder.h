// Householder reflectors H = I - tau v vᵀ (v[0] = 1), LAPACK's conventions (dlarfg): generating one,
// the column weights a reflector needs, and multiplying a product of them out into explicit rows.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "linalg/blas1.h"
#include "linalg/parallel.h"

namespace peftjs {
namespace linalg {

// Euclidean norm of n strided values, accumulated in double; rescaled when the plain sum of
// squares over- or underflows (only possible for float64 input).
template <typename T>
double norm2(const T* x, int64_t n, int64_t inc) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i * inc]) * static_cast<double>(x[i * inc]);
  if (std::isfinite(sum) && (sum == 0 || sum > 1e-280)) return std::sqrt(sum);
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(static_cast<double>(x[i * inc])));
  if (scale == 0 || !std::isfinite(scale)) return scale;
  sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i * inc]) / scale;
    sum += v * v;
  }
  return scale * std::sqrt(sum);
}

// dlarfg: finds H with H [alpha; x] = [beta; 0]. Overwrites alpha with beta and x (n values, stride
// inc) with v[1:]; returns tau (0 when x is already zero: H = I and beta = alpha keeps its sign,
// else beta = -sign(alpha) * norm, so beta may be negative).
template <typename T>
T make_reflector(T& alpha, T* x, int64_t n, int64_t inc) {
  const double xnorm = norm2(x, n, inc);
  if (xnorm == 0) return 0;
  const double a = static_cast<double>(alpha);
  const double beta = -std::copysign(std::hypot(a, xnorm), a);
  const T scale = static_cast<T>(1.0 / (a - beta));
  for (int64_t i = 0; i < n; ++i) x[i * inc] *= scale;
  alpha = static_cast<T>(beta);
  return static_cast<T>((beta - a) / beta);
}

// w[c] = sum_i v[i * incv] * a[i * ld + c] for a rows x cols block: the row vector vᵀA that
// applying H from the left needs. Fixed blocks of rows (contiguous memory) give partial sums,
// added up in block order, so the bits do not depend on the thread count.
template <typename T>
void reflector_weights(const T* a, int64_t ld, int64_t rows, int64_t cols, const T* v, int64_t incv, T* w) {
  constexpr int64_t kRows = 32;
  const int64_t blocks = (rows + kRows - 1) / kRows;
  std::vector<T> partial(static_cast<size_t>(blocks * cols), T(0));
  for_blocks(rows, kRows, 2.0 * static_cast<double>(cols), [&](int64_t r0, int64_t r1) {
    T* sum = partial.data() + (r0 / kRows) * cols;
    for (int64_t i = r0; i < r1; ++i) axpy(v[i * incv], a + i * ld, sum, cols);
  });
  for_blocks(cols, 256, static_cast<double>(blocks), [&](int64_t c0, int64_t c1) {
    std::copy(partial.data() + c0, partial.data() + c1, w + c0);
    for (int64_t b = 1; b < blocks; ++b) axpy(T(1), partial.data() + b * cols + c0, w + c0, c1 - c0);
  });
}

// Writes rows [0, rows) of Qᵀ (row r = column r of Q, `len` values, row stride ldq) for
// Q = H_0 H_1 ... H_{k-1}. Reflector j is supported on [j + shift, len): its vector is
// vecs[j * ldv + j + shift ...] with that first value 1. Each row is e_r multiplied by H_j for
// j = k-1 down to 0 (only those with j + shift <= r touch it); rows run in independent blocks.
template <typename T>
void form_q_rows(const T* vecs, int64_t ldv, const T* tau, int64_t k, int64_t shift, int64_t len, int64_t rows, T* qt,
                 int64_t ldq) {
  const double work_per_row = 4.0 * static_cast<double>(k) * static_cast<double>(len);
  for_blocks(rows, 16, work_per_row, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      std::fill(qt + r * ldq, qt + r * ldq + len, T(0));
      qt[r * ldq + r] = 1;
    }
    for (int64_t j = std::min(k - 1, r1 - 1 - shift); j >= 0; --j) {
      if (tau[j] == 0) continue;
      const int64_t start = j + shift;
      const T* v = vecs + j * ldv + start;
      for (int64_t r = std::max(r0, start); r < r1; ++r) {
        T* row = qt + r * ldq + start;
        axpy(-tau[j] * dot(row, v, len - start), v, row, len - start);
      }
    }
  });
}

}  // namespace linalg
}  // namespace peftjs
