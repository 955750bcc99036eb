// RMSNorm (Llama, T5) over the last dimension, forward and backward.
#include <cmath>
#include <vector>

#include "nn/kernels.h"
#include "nn/parallel.h"
#include "nn/vec_math.h"

namespace peftjs::nn {
namespace {

// One row block of the backward pass; gw partial sums (double) go to pw when not null.
template <typename T, bool kWeight>
void rms_norm_grad_rows(const T* gy, const T* x, const T* weight, const T* rstd, T* gx, double* pw, int64_t begin,
                        int64_t end, int64_t cols) {
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict g = gy + r * cols;
    const T* __restrict xr = x + r * cols;
    const T rs = rstd[r];
    auto gw_at = [&](int64_t j) { return kWeight ? g[j] * weight[j] : g[j]; };
    if (gx != nullptr) {
      const T c = lane_sum<T>(cols, [&](int64_t j) { return gw_at(j) * xr[j] * rs; }) / T(cols);
      T* __restrict out = gx + r * cols;
      for (int64_t j = 0; j < cols; ++j) out[j] = rs * (gw_at(j) - xr[j] * rs * c);
    }
    if (pw != nullptr) {
      for (int64_t j = 0; j < cols; ++j) pw[j] += static_cast<double>(g[j] * (xr[j] * rs));
    }
  }
}

}  // namespace

// y = weight * (x * rstd) with rstd = 1 / sqrt(mean(x^2) + eps) per row (saved for backward).
template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t cols, double eps) {
  for_rows(rows, cols, [&](int64_t r) {
    const T* __restrict xr = x + r * cols;
    T* __restrict yr = y + r * cols;
    const T ms = lane_sum<T>(cols, [&](int64_t j) { return xr[j] * xr[j]; }) / T(cols);
    const T rs = T(1) / std::sqrt(ms + T(eps));
    rstd[r] = rs;
    if (weight != nullptr) {
      for (int64_t j = 0; j < cols; ++j) yr[j] = weight[j] * (xr[j] * rs);
    } else {
      for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] * rs;
    }
  });
}

// gx = rstd * (g - xhat * mean(g * xhat)) with g = gy * weight, xhat = x * rstd;
// gw += sum over rows of gy * xhat (per-chunk partials, fixed order).
template <typename T>
void rms_norm_backward(const T* gy, const T* x, const T* weight, const T* rstd, T* gx, T* gw, int64_t rows,
                       int64_t cols) {
  const RowChunks chunks(rows, cols);
  const int64_t per_chunk = gw != nullptr ? cols : 0;
  std::vector<double> partial(static_cast<size_t>(chunks.count * per_chunk), 0.0);
  chunks.run(rows, [&](int64_t c, int64_t begin, int64_t end) {
    double* pw = gw != nullptr ? partial.data() + c * per_chunk : nullptr;
    if (weight != nullptr) {
      rms_norm_grad_rows<T, true>(gy, x, weight, rstd, gx, pw, begin, end, cols);
    } else {
      rms_norm_grad_rows<T, false>(gy, x, weight, rstd, gx, pw, begin, end, cols);
    }
  });
  if (gw == nullptr) return;
  for (int64_t c = 1; c < chunks.count; ++c) {
    for (int64_t j = 0; j < cols; ++j) partial[j] += partial[c * cols + j];
  }
  for (int64_t j = 0; j < cols; ++j) gw[j] += static_cast<T>(partial[j]);
}

#define PEFTJS_INSTANTIATE(T)                                                                         \
  template void rms_norm_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, double);           \
  template void rms_norm_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t);
PEFTJS_INSTANTIATE(float)
PEFTJS_INSTANTIATE(double)
#undef PEFTJS_INSTANTIATE

}  // namespace peftjs::nn
