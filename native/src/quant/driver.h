// The drivers of the linear layer over a quantised weight (linear.cc), for any weight format that can
// dequantise a range of its elements and, optionally, multiply a few rows of x directly: bitsandbytes'
// 4-bit / int8 formats here, ggml's block types in native/src/ggml/.
#pragma once
#include <cstdint>
#include <functional>

namespace peftjs::quant {

// One quantised W [N, K] as the drivers see it.
struct Source {
  int64_t N, K;
  double bytes_per_weight;
  // out[0:count] = elements [e0, e0 + count) of W (flattened row-major).
  std::function<void(int64_t e0, int64_t count, float* out)> dequant;
  // The few-row kernel, or null when this W's layout has none; with `layout`, it reads x [m, K]
  // reordered by layout(x, m, K, xp).
  std::function<void(int64_t m, const float* x, int64_t j0, int64_t j1, float* y)> gemv;
  void (*layout)(const float* x, int64_t M, int64_t K, float* xp);
  // The quantised data the few-row kernel streams (its start and bytes), or null: after a few-row
  // product the data that followed it last time is prefetched by the idle workers (next_operand.h).
  const void* data = nullptr;
  int64_t data_bytes = 0;
};

// y [M, N] = x [M, K]·Wᵀ (+ bias) and gx [M, K] = gy [M, N]·W; M, N, K > 0. Each output element is
// summed by one thread in a fixed order, so results do not depend on the thread count.
void forward(const Source& w, const float* x, int64_t M, const float* bias, float* y);
void backward(const Source& w, const float* gy, int64_t M, float* gx);

// Degenerate sizes: true (and out = bias rows, or zeros) when the product is empty.
bool empty_product(int64_t M, int64_t out_cols, int64_t inner, const float* bias, float* out);

}  // namespace peftjs::quant
