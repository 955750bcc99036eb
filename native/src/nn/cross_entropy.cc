// Cross-entropy over class logits fused with log-softmax (PyTorch semantics: ignore_index,
// label smoothing), forward and backward. Reduction over rows is the caller's.
#include <cmath>

#include "nn/kernels.h"
#include "nn/parallel.h"
#include "nn/vec_math.h"

namespace peftjs::nn {

// lse = logsumexp(x); loss = (1 - eps) * (lse - x[t]) + eps * (lse - mean(x)), 0 where t == ignore_index.
template <typename T>
void cross_entropy_forward(const T* logits, Targets targets, T* losses, T* lse, int64_t rows, int64_t classes,
                           int64_t ignore_index, double smoothing) {
  const T eps = T(smoothing);
  for_rows(rows, classes, [&](int64_t r) {
    const T* __restrict x = logits + r * classes;
    const T m = lane_max(x, classes);
    T acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= classes; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) acc[l] += vexp(x[j + l] - m);
    }
    for (int l = 0; j + l < classes; ++l) acc[l] += vexp(x[j + l] - m);
    T sum = 0;
    for (int l = 0; l < kLanes; ++l) sum += acc[l];
    const T z = m + std::log(sum);
    lse[r] = z;
    const int64_t t = targets.at(r);
    if (t == ignore_index) {
      losses[r] = 0;
      return;
    }
    T loss = (T(1) - eps) * (z - x[t]);
    if (eps != 0) loss += eps * (z - lane_sum<T>(classes, [&](int64_t c) { return x[c]; }) / T(classes));
    losses[r] = loss;
  });
}

// gx = gLoss * (softmax(x) - (1 - eps) * onehot(t) - eps / classes), 0 where t == ignore_index.
template <typename T>
void cross_entropy_backward(const T* logits, Targets targets, const T* lse, const T* g_loss, T* gx, int64_t rows,
                            int64_t classes, int64_t ignore_index, double smoothing) {
  const T eps = T(smoothing);
  for_rows(rows, classes, [&](int64_t r) {
    const T* __restrict x = logits + r * classes;
    T* __restrict out = gx + r * classes;
    const int64_t t = targets.at(r);
    if (t == ignore_index) {
      for (int64_t c = 0; c < classes; ++c) out[c] = 0;
      return;
    }
    const T g = g_loss[r], z = lse[r], uniform = eps / T(classes);
    for (int64_t c = 0; c < classes; ++c) out[c] = g * (vexp(x[c] - z) - uniform);
    out[t] -= g * (T(1) - eps);
  });
}

#define PEFTJS_INSTANTIATE(T)                                                                                 \
  template void cross_entropy_forward<T>(const T*, Targets, T*, T*, int64_t, int64_t, int64_t, double);      \
  template void cross_entropy_backward<T>(const T*, Targets, const T*, const T*, T*, int64_t, int64_t, int64_t, \
                                          double);
PEFTJS_INSTANTIATE(float)
PEFTJS_INSTANTIATE(double)
#undef PEFTJS_INSTANTIATE

}  // namespace peftjs::nn
