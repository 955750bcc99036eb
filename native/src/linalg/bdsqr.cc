#include "linalg/bdsqr.h"

#include <algorithm>
#include <cmath>

namespace peftjs {
namespace linalg {
namespace {

// c, s, r with c f + s g = r and c g - s f = 0.
void givens(double f, double g, double& c, double& s, double& r) {
  if (g == 0) {
    c = 1, s = 0, r = f;
  } else if (f == 0) {
    c = 0, s = 1, r = g;
  } else {
    r = std::hypot(f, g);
    c = f / r, s = g / r;
  }
}

// d[k] == 0 (lo <= k < hi): rotates row k against rows k+1..hi to push e[k] out of the matrix.
void chase_row(double* d, double* e, int64_t k, int64_t hi, RotationLog& left) {
  double f = e[k], c, s;
  e[k] = 0;
  for (int64_t j = k + 1; j <= hi; ++j) {
    givens(d[j], f, c, s, d[j]);
    left.add(j, k, c, s);
    if (j < hi) {
      f = -s * e[j];
      e[j] *= c;
    }
  }
}

// d[hi] == 0: rotates column hi against columns hi-1..lo to push e[hi-1] out of the matrix.
void chase_column(double* d, double* e, int64_t lo, int64_t hi, RotationLog& right) {
  double f = e[hi - 1], c, s;
  e[hi - 1] = 0;
  for (int64_t j = hi - 1; j >= lo; --j) {
    givens(d[j], f, c, s, d[j]);
    right.add(j, hi, c, s);
    if (j > lo) {
      f = -s * e[j - 1];
      e[j - 1] *= c;
    }
  }
}

// One implicit QR step on the unreduced block [lo, hi], shifted by the eigenvalue of the trailing
// 2x2 of BᵀB nearer its last entry (Wilkinson): chases the bulge from the top to the bottom.
void qr_step(double* d, double* e, int64_t lo, int64_t hi, RotationLog& left, RotationLog& right) {
  const double dm = d[hi - 1], dn = d[hi], em = e[hi - 1], el = hi - 1 > lo ? e[hi - 2] : 0;
  const double a = dm * dm + el * el, b = dm * em, t = dn * dn + em * em;
  const double delta = (a - t) / 2;
  const double mu = t - b * b / (delta + std::copysign(std::hypot(delta, b), delta));
  double y = d[lo] * d[lo] - mu, z = d[lo] * e[lo], c, s, r;
  for (int64_t k = lo; k < hi; ++k) {
    givens(y, z, c, s, r);  // columns k, k+1
    if (k > lo) e[k - 1] = r;
    const double dk = c * d[k] + s * e[k], ek = c * e[k] - s * d[k];
    const double bulge = s * d[k + 1], dk1 = c * d[k + 1];
    right.add(k, k + 1, c, s);
    givens(dk, bulge, c, s, d[k]);  // rows k, k+1
    e[k] = c * ek + s * dk1;
    d[k + 1] = c * dk1 - s * ek;
    left.add(k, k + 1, c, s);
    if (k + 1 < hi) {
      y = e[k];
      z = s * e[k + 1];
      e[k + 1] *= c;
    }
  }
}

}  // namespace

bool bidiagonal_svd(double* d, double* e, int64_t n, double tol, RotationLog& left, RotationLog& right) {
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(d[i]));
  for (int64_t i = 0; i + 1 < n; ++i) scale = std::max(scale, std::fabs(e[i]));
  if (scale == 0) return true;
  for (int64_t i = 0; i < n; ++i) d[i] /= scale;
  for (int64_t i = 0; i + 1 < n; ++i) e[i] /= scale;

  const int64_t max_steps = 6 * n * n;
  int64_t steps = 0, hi = n - 1;
  while (hi > 0) {
    for (int64_t i = 0; i < hi; ++i) {
      if (std::fabs(e[i]) <= tol * (std::fabs(d[i]) + std::fabs(d[i + 1]))) e[i] = 0;
    }
    for (int64_t i = 0; i <= hi; ++i) {
      if (std::fabs(d[i]) <= tol) d[i] = 0;
    }
    while (hi > 0 && e[hi - 1] == 0) --hi;
    if (hi == 0) break;
    int64_t lo = hi - 1;
    while (lo > 0 && e[lo - 1] != 0) --lo;
    const int64_t zero = std::find(d + lo, d + hi, 0.0) - d;
    if (zero < hi) {
      chase_row(d, e, zero, hi, left);
    } else if (d[hi] == 0) {
      chase_column(d, e, lo, hi, right);
    } else {
      if (steps > max_steps) return false;
      qr_step(d, e, lo, hi, left, right);
      steps += hi - lo;
    }
  }
  for (int64_t i = 0; i < n; ++i) d[i] *= scale;
  return true;
}

}  // namespace linalg
}  // namespace peftjs
