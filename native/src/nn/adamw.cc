// One AdamW step in place, as PyTorch's single-tensor AdamW computes it.
#include <cmath>

#include "nn/kernels.h"
#include "nn/parallel.h"

namespace peftjs::nn {
namespace {

// m = torch.lerp(m, g, w): m + w * (g - m) when |w| < 0.5, else g - (g - m) * (1 - w).
template <typename T, bool kSmallWeight>
void adamw_range(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t begin, int64_t end,
                 T decay, T w, T beta2, T one_minus_beta2, T step_size, T bc2_sqrt, T eps) {
  const T w_rest = T(1) - w;
  for (int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T mi = kSmallWeight ? m[i] + w * (gi - m[i]) : gi - (gi - m[i]) * w_rest;
    const T vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
    const T denom = std::sqrt(vi) / bc2_sqrt + eps;
    p[i] = p[i] * decay - step_size * (mi / denom);
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

// p *= 1 - lr * wd; m = lerp(m, g, 1 - beta1); v = beta2 * v + (1 - beta2) * g^2;
// p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps).
template <typename T>
void adamw_step(T* param, const T* grad, T* m, T* v, int64_t n, const AdamWConfig& c) {
  const T decay = T(1 - c.lr * c.weight_decay), w = T(1 - c.beta1), eps = T(c.eps);
  const T beta2 = T(c.beta2), one_minus_beta2 = T(1 - c.beta2);
  const T step_size = T(c.lr / (1 - std::pow(c.beta1, static_cast<double>(c.step))));
  const T bc2_sqrt = T(std::sqrt(1 - std::pow(c.beta2, static_cast<double>(c.step))));
  const bool small_w = std::fabs(1 - c.beta1) < 0.5;
  parallel_range(n, 1 << 14, [&](int64_t begin, int64_t end) {
    if (small_w) {
      adamw_range<T, true>(param, grad, m, v, begin, end, decay, w, beta2, one_minus_beta2, step_size, bc2_sqrt, eps);
    } else {
      adamw_range<T, false>(param, grad, m, v, begin, end, decay, w, beta2, one_minus_beta2, step_size, bc2_sqrt, eps);
    }
  });
}

template void adamw_step<float>(float*, const float*, float*, float*, int64_t, const AdamWConfig&);
template void adamw_step<double>(double*, const double*, double*, double*, int64_t, const AdamWConfig&);

}  // namespace peftjs::nn
