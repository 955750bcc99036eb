// LU factorisation with partial pivoting (getrf, right-looking), and the triangular solves and
// determinant that read it.
#include <algorithm>
#include <cmath>
#include <limits>

#include "linalg/blas1.h"
#include "linalg/linalg.h"
#include "linalg/parallel.h"

namespace peftjs {
namespace linalg {
namespace {

template <typename T>
int32_t lu_one(T* a, int64_t n, int32_t* piv) {
  double amax = 0;
  bool finite = true;
  for (int64_t i = 0; i < n * n; ++i) {
    finite = finite && std::isfinite(a[i]);
    amax = std::max(amax, static_cast<double>(std::fabs(a[i])));
  }
  const double tol = static_cast<double>(n) * std::numeric_limits<T>::epsilon() * amax;
  int32_t info = finite ? -1 : -2;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    for (int64_t i = k + 1; i < n; ++i) {
      if (std::fabs(a[i * n + k]) > std::fabs(a[p * n + k])) p = i;
    }
    piv[k] = static_cast<int32_t>(p);
    if (p != k) std::swap_ranges(a + k * n, a + k * n + n, a + p * n);
    const T pivot = a[k * n + k];
    if (info == -1 && !(std::fabs(pivot) > tol)) info = static_cast<int32_t>(k);
    if (pivot == 0) continue;
    const int64_t rest = n - k - 1;
    const T* urow = a + k * n + k + 1;
    for_blocks(rest, 16, 2.0 * static_cast<double>(rest), [&](int64_t r0, int64_t r1) {
      for (int64_t i = k + 1 + r0; i < k + 1 + r1; ++i) {
        T* row = a + i * n + k;
        row[0] /= pivot;
        axpy(-row[0], urow, row + 1, rest);
      }
    });
  }
  return info;
}

// Solves in place for columns [c0, c1) of the n x k right-hand side b.
template <typename T>
void lu_solve_strip(const T* lu, const int32_t* piv, int64_t n, T* b, int64_t k, bool trans, int64_t c0, int64_t c1) {
  const int64_t w = c1 - c0;
  auto row = [&](int64_t i) { return b + i * k + c0; };
  if (!trans) {
    for (int64_t i = 0; i < n; ++i) {
      if (piv[i] != i) std::swap_ranges(row(i), row(i) + w, row(piv[i]));
    }
    for (int64_t i = 0; i < n; ++i) {  // L y = P b
      for (int64_t j = 0; j < i; ++j) axpy(-lu[i * n + j], row(j), row(i), w);
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // U x = y
      for (int64_t j = i + 1; j < n; ++j) axpy(-lu[i * n + j], row(j), row(i), w);
      for (int64_t c = 0; c < w; ++c) row(i)[c] /= lu[i * n + i];
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {  // Uᵀ z = b
      for (int64_t j = 0; j < i; ++j) axpy(-lu[j * n + i], row(j), row(i), w);
      for (int64_t c = 0; c < w; ++c) row(i)[c] /= lu[i * n + i];
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // Lᵀ y = z
      for (int64_t j = i + 1; j < n; ++j) axpy(-lu[j * n + i], row(j), row(i), w);
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // x = Pᵀ y
      if (piv[i] != i) std::swap_ranges(row(i), row(i) + w, row(piv[i]));
    }
  }
}

}  // namespace

template <typename T>
void lu_factor(T* a, int64_t batch, int64_t n, int32_t* piv, int32_t* info) {
  const double flops = 2.0 / 3.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  for_each_item(batch, flops, [&](int64_t b) { info[b] = lu_one(a + b * n * n, n, piv + b * n); });
}

template <typename T>
void lu_solve(const T* lu, const int32_t* piv, int64_t batch, int64_t n, T* b, int64_t k, bool trans) {
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n);
  for_each_item(batch, flops * static_cast<double>(k), [&](int64_t i) {
    for_blocks(k, 64, flops, [&](int64_t c0, int64_t c1) {
      lu_solve_strip(lu + i * n * n, piv + i * n, n, b + i * n * k, k, trans, c0, c1);
    });
  });
}

template <typename T>
void lu_det(const T* lu, const int32_t* piv, int64_t batch, int64_t n, T* out) {
  for (int64_t b = 0; b < batch; ++b) {
    double det = 1;
    for (int64_t i = 0; i < n; ++i) det *= (piv[b * n + i] != i ? -1.0 : 1.0) * lu[b * n * n + i * n + i];
    out[b] = static_cast<T>(det);
  }
}

template void lu_factor<float>(float*, int64_t, int64_t, int32_t*, int32_t*);
template void lu_factor<double>(double*, int64_t, int64_t, int32_t*, int32_t*);
template void lu_solve<float>(const float*, const int32_t*, int64_t, int64_t, float*, int64_t, bool);
template void lu_solve<double>(const double*, const int32_t*, int64_t, int64_t, double*, int64_t, bool);
template void lu_det<float>(const float*, const int32_t*, int64_t, int64_t, float*);
template void lu_det<double>(const double*, const int32_t*, int64_t, int64_t, double*);

}  // namespace linalg
}  // namespace peftjs
