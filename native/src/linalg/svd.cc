// SVD driver (Golub-Kahan-Reinsch): bidiagonalise (A, or Aᵀ when wide), multiply the reflectors
// out into explicit singular-vector bases, diagonalise the bidiagonal by QR iteration with the
// rotations applied to those bases, then sort, fix signs and transpose into U, S, Vh.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "linalg/bdsqr.h"
#include "linalg/bidiag.h"
#include "linalg/householder.h"
#include "linalg/linalg.h"
#include "linalg/transpose.h"

namespace peftjs {
namespace linalg {
namespace {

// +1 or -1: the sign that makes the largest-magnitude entry of x (the first of ties) positive.
template <typename T>
T sign_of_largest(const T* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(x[best])) best = i;
  }
  return n > 0 && x[best] < 0 ? T(-1) : T(1);
}

// One matrix. M = A (tall) or Aᵀ (wide) is R x C with R >= C; M = L B Pᵀ, then B = Lb diag(d) Pbᵀ.
template <typename T>
int32_t svd_one(const T* a, int64_t m, int64_t n, bool full, T* u, T* s, T* vh) {
  for (int64_t i = 0; i < m * n; ++i) {
    if (!std::isfinite(a[i])) return kSvdNonFinite;
  }
  const bool wide = m < n;
  const int64_t R = wide ? n : m, C = wide ? m : n;
  std::vector<T> M(static_cast<size_t>(R * C));
  if (wide) transpose(a, m, n, n, M.data(), m);
  else std::copy(a, a + m * n, M.begin());

  std::vector<T> d(C), e(C), tau_q(C), tau_p(C);
  bidiagonalize(M.data(), R, C, d.data(), e.data(), tau_q.data(), tau_p.data());

  // Lt: rows of Lᵀ (all R of them when the long side must be full); Pt: rows of Pᵀ.
  const int64_t l_rows = full ? R : C;
  std::vector<T> vl(static_cast<size_t>(C * R)), lt(static_cast<size_t>(l_rows * R)), pt(static_cast<size_t>(C * C));
  for (int64_t i = 0; i < R; ++i) {
    for (int64_t j = 0; j < std::min(i + 1, C); ++j) vl[j * R + i] = M[i * C + j];
  }
  form_q_rows(vl.data(), R, tau_q.data(), C, 0, R, l_rows, lt.data(), R);
  form_q_rows(M.data(), C, tau_p.data(), std::max<int64_t>(C - 2, 0), 1, C, C, pt.data(), C);
  std::vector<T>().swap(M);  // the reflectors are no longer needed
  std::vector<T>().swap(vl);

  std::vector<double> dd(d.begin(), d.end()), ee(e.begin(), e.begin() + std::max<int64_t>(C - 1, 0));
  StripRows<T> l_strips(lt.data(), R, C, R), p_strips(pt.data(), C, C, C);  // rotations touch rows < C
  RotationLog left([&](const Rotation* r, size_t count) { l_strips.apply(r, count); });
  RotationLog right([&](const Rotation* r, size_t count) { p_strips.apply(r, count); });
  const bool converged = bidiagonal_svd(dd.data(), ee.data(), C, 4 * std::numeric_limits<T>::epsilon(), left, right);
  left.flush();
  right.flush();
  l_strips.write_back();
  p_strips.write_back();
  if (!converged) return kSvdNoConvergence;

  // X holds the vectors that become U's columns (length m), Y those that become Vh's rows (length n).
  T* X = wide ? pt.data() : lt.data();
  T* Y = wide ? lt.data() : pt.data();
  const int64_t ku = full ? m : C, kv = full ? n : C;
  std::vector<int64_t> order(C);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return std::fabs(dd[i]) > std::fabs(dd[j]); });
  std::vector<T> ut(static_cast<size_t>(ku * m));
  for (int64_t r = 0; r < C; ++r) {
    const int64_t src = order[r];
    const T f = sign_of_largest(X + src * m, m);
    const T g = dd[src] < 0 ? -f : f;  // a negative d moves its sign onto the V side
    s[r] = static_cast<T>(std::fabs(dd[src]));
    for (int64_t i = 0; i < m; ++i) ut[r * m + i] = f * X[src * m + i];
    for (int64_t i = 0; i < n; ++i) vh[r * n + i] = g * Y[src * n + i];
  }
  for (int64_t r = C; r < ku; ++r) {
    const T f = sign_of_largest(X + r * m, m);
    for (int64_t i = 0; i < m; ++i) ut[r * m + i] = f * X[r * m + i];
  }
  for (int64_t r = C; r < kv; ++r) {
    const T f = sign_of_largest(Y + r * n, n);
    for (int64_t i = 0; i < n; ++i) vh[r * n + i] = f * Y[r * n + i];
  }
  transpose(ut.data(), ku, m, m, u, ku);
  return kSvdOk;
}

}  // namespace

template <typename T>
void svd(const T* a, int64_t batch, int64_t m, int64_t n, bool full, T* u, T* s, T* vh, int32_t* info) {
  const int64_t k = std::min(m, n), ku = full ? m : k, kv = full ? n : k;
  const double flops = 20.0 * static_cast<double>(std::max(m, n)) * static_cast<double>(k) * static_cast<double>(k);
  for_each_item(batch, flops, [&](int64_t b) {
    info[b] = svd_one(a + b * m * n, m, n, full, u + b * m * ku, s + b * k, vh + b * kv * n);
  });
}

template void svd<float>(const float*, int64_t, int64_t, int64_t, bool, float*, float*, float*, int32_t*);
template void svd<double>(const double*, int64_t, int64_t, int64_t, bool, double*, double*, double*, int32_t*);

}  // namespace linalg
}  // namespace peftjs
