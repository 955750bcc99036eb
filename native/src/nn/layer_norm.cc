// LayerNorm over the last dimension, forward and backward.
#include <cmath>
#include <vector>

#include "nn/kernels.h"
#include "nn/parallel.h"
#include "nn/vec_math.h"

namespace peftjs::nn {
namespace {

template <typename T, bool kWeight, bool kBias>
void layer_norm_rows(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
                     double eps) {
  for_rows(rows, cols, [&](int64_t r) {
    const T* __restrict xr = x + r * cols;
    T* __restrict yr = y + r * cols;
    const T mu = lane_sum<T>(cols, [&](int64_t j) { return xr[j]; }) / T(cols);
    const T var = lane_sum<T>(cols, [&](int64_t j) { return (xr[j] - mu) * (xr[j] - mu); }) / T(cols);
    const T rs = T(1) / std::sqrt(var + T(eps));
    mean[r] = mu;
    rstd[r] = rs;
    for (int64_t j = 0; j < cols; ++j) {
      T v = (xr[j] - mu) * rs;
      if constexpr (kWeight) v *= weight[j];
      if constexpr (kBias) v += bias[j];
      yr[j] = v;
    }
  });
}

// One row block of the backward pass; gw/gb partial sums (double) go to pw/pb when not null.
template <typename T, bool kWeight>
void layer_norm_grad_rows(const T* gy, const T* x, const T* weight, const T* mean, const T* rstd, T* gx, double* pw,
                          double* pb, int64_t begin, int64_t end, int64_t cols) {
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict g = gy + r * cols;
    const T* __restrict xr = x + r * cols;
    const T mu = mean[r], rs = rstd[r];
    auto gw_at = [&](int64_t j) { return kWeight ? g[j] * weight[j] : g[j]; };
    if (gx != nullptr) {
      const T a = lane_sum<T>(cols, gw_at) / T(cols);
      const T c = lane_sum<T>(cols, [&](int64_t j) { return gw_at(j) * (xr[j] - mu) * rs; }) / T(cols);
      T* __restrict out = gx + r * cols;
      for (int64_t j = 0; j < cols; ++j) out[j] = rs * (gw_at(j) - a - (xr[j] - mu) * rs * c);
    }
    if (pw != nullptr) {
      for (int64_t j = 0; j < cols; ++j) pw[j] += static_cast<double>(g[j] * ((xr[j] - mu) * rs));
    }
    if (pb != nullptr) {
      for (int64_t j = 0; j < cols; ++j) pb[j] += static_cast<double>(g[j]);
    }
  }
}

}  // namespace

// y = (x - mean) * rstd * weight + bias per row; mean and rstd = 1 / sqrt(var + eps) are saved.
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
                        double eps) {
  if (weight != nullptr && bias != nullptr) {
    layer_norm_rows<T, true, true>(x, weight, bias, y, mean, rstd, rows, cols, eps);
  } else if (weight != nullptr) {
    layer_norm_rows<T, true, false>(x, weight, bias, y, mean, rstd, rows, cols, eps);
  } else if (bias != nullptr) {
    layer_norm_rows<T, false, true>(x, weight, bias, y, mean, rstd, rows, cols, eps);
  } else {
    layer_norm_rows<T, false, false>(x, weight, bias, y, mean, rstd, rows, cols, eps);
  }
}

// gx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = gy * weight, xhat = (x - mean) * rstd;
// gw += sum over rows of gy * xhat, gb += sum over rows of gy (per-chunk partials, fixed order).
template <typename T>
void layer_norm_backward(const T* gy, const T* x, const T* weight, const T* mean, const T* rstd, T* gx, T* gw, T* gb,
                         int64_t rows, int64_t cols) {
  const RowChunks chunks(rows, cols);
  const int64_t per_chunk = (gw != nullptr ? cols : 0) + (gb != nullptr ? cols : 0);
  std::vector<double> partial(static_cast<size_t>(chunks.count * per_chunk), 0.0);
  chunks.run(rows, [&](int64_t c, int64_t begin, int64_t end) {
    double* pw = gw != nullptr ? partial.data() + c * per_chunk : nullptr;
    double* pb = gb != nullptr ? partial.data() + c * per_chunk + (gw != nullptr ? cols : 0) : nullptr;
    if (weight != nullptr) {
      layer_norm_grad_rows<T, true>(gy, x, weight, mean, rstd, gx, pw, pb, begin, end, cols);
    } else {
      layer_norm_grad_rows<T, false>(gy, x, weight, mean, rstd, gx, pw, pb, begin, end, cols);
    }
  });
  for (int64_t c = 1; c < chunks.count; ++c) {
    for (int64_t j = 0; j < per_chunk; ++j) partial[j] += partial[c * per_chunk + j];
  }
  if (gw != nullptr) {
    for (int64_t j = 0; j < cols; ++j) gw[j] += static_cast<T>(partial[j]);
  }
  if (gb != nullptr) {
    const double* pb = partial.data() + (gw != nullptr ? cols : 0);
    for (int64_t j = 0; j < cols; ++j) gb[j] += static_cast<T>(pb[j]);
  }
}

#define PEFTJS_INSTANTIATE(T)                                                                                   \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double);     \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, \
                                       int64_t);
PEFTJS_INSTANTIATE(float)
PEFTJS_INSTANTIATE(double)
#undef PEFTJS_INSTANTIATE

}  // namespace peftjs::nn
