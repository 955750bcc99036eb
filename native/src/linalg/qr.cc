// Householder QR (geqrf + orgqr): reflector j zeroes column j below the diagonal and is applied
// to the columns on its right; Q is then multiplied out from the reflectors.
#include <algorithm>
#include <vector>

#include "linalg/householder.h"
#include "linalg/linalg.h"
#include "linalg/transpose.h"

namespace peftjs {
namespace linalg {
namespace {

template <typename T>
void qr_one(const T* a_in, int64_t m, int64_t n, T* q, T* r) {
  const int64_t k = std::min(m, n);
  std::vector<T> a(a_in, a_in + m * n), tau(k), w(n);
  for (int64_t j = 0; j < k; ++j) {
    T* ajj = a.data() + j * n + j;
    tau[j] = make_reflector(*ajj, ajj + n, m - j - 1, n);
    const int64_t right = n - j - 1;
    if (tau[j] == 0 || right == 0) continue;
    const T beta = *ajj, t = tau[j];
    *ajj = 1;
    reflector_weights(ajj + 1, n, m - j, right, ajj, n, w.data());
    for_blocks(m - j, 16, 2.0 * static_cast<double>(right), [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        T* row = ajj + 1 + i * n;  // row[-1] is v_j there
        axpy(-t * row[-1], w.data(), row, right);
      }
    });
    *ajj = beta;
  }
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t c = 0; c < n; ++c) r[i * n + c] = c >= i ? a[i * n + c] : T(0);
  }
  std::vector<T> v(static_cast<size_t>(k * m)), qt(static_cast<size_t>(k * m));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < std::min(i + 1, k); ++j) v[j * m + i] = i == j ? T(1) : a[i * n + j];
  }
  form_q_rows(v.data(), m, tau.data(), k, 0, m, k, qt.data(), m);
  transpose(qt.data(), k, m, m, q, k);
}

}  // namespace

template <typename T>
void qr(const T* a, int64_t batch, int64_t m, int64_t n, T* q, T* r) {
  const int64_t k = std::min(m, n);
  const double flops = 4.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  for_each_item(batch, flops, [&](int64_t b) { qr_one(a + b * m * n, m, n, q + b * m * k, r + b * k * n); });
}

template void qr<float>(const float*, int64_t, int64_t, int64_t, float*, float*);
template void qr<double>(const double*, int64_t, int64_t, int64_t, double*, double*);

}  // namespace linalg
}  // namespace peftjs
