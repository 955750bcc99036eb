// Householder bidiagonalisation (Golub-Kahan): A = Q B Pᵀ with B upper bidiagonal, for a
// row-major rows x cols matrix with rows >= cols. Two passes over the trailing matrix per
// step: the column weights of the left reflector, then one fused pass that applies the left
// and the right reflector to each row.
#pragma once
#include <cstdint>
#include <vector>

#include "linalg/householder.h"

namespace peftjs {
namespace linalg {

// Overwrites a with the reflectors: column j below the diagonal holds v_j (with a[j][j] = 1),
// row j from column j+1 holds u_j (with a[j][j+1] = 1). d[j] and e[j] get B's diagonal and
// superdiagonal; tau_q[j] (j < cols) and tau_p[j] (j < cols - 2) the reflectors' scales.
template <typename T>
void bidiagonalize(T* a, int64_t rows, int64_t cols, T* d, T* e, T* tau_q, T* tau_p) {
  std::vector<T> w(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) {
    T* ajj = a + j * cols + j;
    const int64_t right = cols - j - 1;
    tau_q[j] = make_reflector(*ajj, ajj + cols, rows - j - 1, cols);
    d[j] = *ajj;
    *ajj = 1;
    if (right == 0) break;
    const T tq = tau_q[j];
    T* row = ajj + 1;
    if (tq != 0) {
      reflector_weights(row, cols, rows - j, right, ajj, cols, w.data());
      axpy(-tq, w.data(), row, right);
    }
    const T tp = right > 1 ? make_reflector(row[0], row + 1, right - 1, 1) : T(0);
    if (right > 1) tau_p[j] = tp;
    e[j] = row[0];
    row[0] = 1;
    for_blocks(rows - j - 1, 16, 4.0 * static_cast<double>(right), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        T* ai = row + (r + 1) * cols;  // row j+1+r from column j+1; ai[-1] is v_j there
        if (tq != 0) axpy(-tq * ai[-1], w.data(), ai, right);
        if (tp != 0) axpy(-tp * dot(ai, row, right), row, ai, right);
      }
    });
  }
}

}  // namespace linalg
}  // namespace peftjs
