// Rotary position embedding, Hugging Face rotate_half convention, forward and backward.
#include "nn/kernels.h"
#include "nn/parallel.h"

namespace peftjs::nn {
namespace {

// One [D] row: the rotation (forward) or its transpose, with the row split into halves.
template <typename T>
void rotate_row(const T* __restrict x1, const T* __restrict x2, const T* __restrict c1, const T* __restrict c2,
                const T* __restrict s1, const T* __restrict s2, T* __restrict o1, T* __restrict o2, int64_t half,
                bool forward) {
  if (forward) {
    for (int64_t d = 0; d < half; ++d) {
      o1[d] = x1[d] * c1[d] - x2[d] * s1[d];
      o2[d] = x2[d] * c2[d] + x1[d] * s2[d];
    }
  } else {
    for (int64_t d = 0; d < half; ++d) {
      o1[d] = x1[d] * c1[d] + x2[d] * s2[d];
      o2[d] = x2[d] * c2[d] - x1[d] * s1[d];
    }
  }
}

template <typename T>
void rotate_rows(const T* x, const T* cos, const T* sin, T* out, int64_t B, int64_t H, int64_t S, int64_t D,
                 int64_t cos_batch, bool forward) {
  const int64_t half = D / 2;
  for_rows(B * H * S, D, [&](int64_t r) {
    const int64_t b = r / (H * S), s = r % S;
    const int64_t cs = ((cos_batch == 1 ? 0 : b) * S + s) * D;
    rotate_row(x + r * D, x + r * D + half, cos + cs, cos + cs + half, sin + cs, sin + cs + half, out + r * D,
               out + r * D + half, half, forward);
  });
}

}  // namespace

// out = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[D/2:], x[:D/2]).
template <typename T>
void rope_forward(const T* x, const T* cos, const T* sin, T* out, int64_t B, int64_t H, int64_t S, int64_t D,
                  int64_t cos_batch) {
  rotate_rows(x, cos, sin, out, B, H, S, D, cos_batch, true);
}

// gx = g * cos + rotate_half^T(g * sin), the transpose of the forward map.
template <typename T>
void rope_backward(const T* g_out, const T* cos, const T* sin, T* gx, int64_t B, int64_t H, int64_t S, int64_t D,
                   int64_t cos_batch) {
  rotate_rows(g_out, cos, sin, gx, B, H, S, D, cos_batch, false);
}

#define PEFTJS_INSTANTIATE(T)                                                                               \
  template void rope_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t); \
  template void rope_backward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);
PEFTJS_INSTANTIATE(float)
PEFTJS_INSTANTIATE(double)
#undef PEFTJS_INSTANTIATE

}  // namespace peftjs::nn
