// Softmax and log-softmax over the last dimension, forward and backward.
#include <cmath>

#include "nn/kernels.h"
#include "nn/parallel.h"
#include "nn/vec_math.h"

namespace peftjs::nn {

// y = exp(x - max) / sum(exp(x - max)), per row.
template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [&](int64_t r) {
    const T* __restrict xr = x + r * cols;
    T* __restrict yr = y + r * cols;
    const T m = lane_max(xr, cols);
    for (int64_t j = 0; j < cols; ++j) yr[j] = vexp(xr[j] - m);
    const T inv = T(1) / lane_sum<T>(cols, [&](int64_t j) { return yr[j]; });
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  });
}

// gx = y * (gy - sum(gy * y)), per row.
template <typename T>
void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [&](int64_t r) {
    const T* __restrict yr = y + r * cols;
    const T* __restrict gr = gy + r * cols;
    T* __restrict out = gx + r * cols;
    const T dot = lane_sum<T>(cols, [&](int64_t j) { return gr[j] * yr[j]; });
    for (int64_t j = 0; j < cols; ++j) out[j] = yr[j] * (gr[j] - dot);
  });
}

// y = x - max - log(sum(exp(x - max))), per row.
template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [&](int64_t r) {
    const T* __restrict xr = x + r * cols;
    T* __restrict yr = y + r * cols;
    const T m = lane_max(xr, cols);
    for (int64_t j = 0; j < cols; ++j) yr[j] = vexp(xr[j] - m);
    const T shift = m + std::log(lane_sum<T>(cols, [&](int64_t j) { return yr[j]; }));
    for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] - shift;
  });
}

// gx = gy - exp(y) * sum(gy), per row (y is the log-softmax output).
template <typename T>
void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [&](int64_t r) {
    const T* __restrict yr = y + r * cols;
    const T* __restrict gr = gy + r * cols;
    T* __restrict out = gx + r * cols;
    const T sum = lane_sum<T>(cols, [&](int64_t j) { return gr[j]; });
    for (int64_t j = 0; j < cols; ++j) out[j] = gr[j] - vexp(yr[j]) * sum;
  });
}

#define PEFTJS_INSTANTIATE(T)                                                    \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t);              \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);   \
  template void log_softmax_forward<T>(const T*, T*, int64_t, int64_t);          \
  template void log_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);
PEFTJS_INSTANTIATE(float)
PEFTJS_INSTANTIATE(double)
#undef PEFTJS_INSTANTIATE

}  // namespace peftjs::nn
