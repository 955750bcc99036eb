// The few-row product y = x·Wᵀ over a ggml block type, written once for every instruction set: `V` is a
// vector of V::kWidth floats (V::zero, load, fma, sum). Each block of a row of W is decoded once into
// a small buffer (blocks.h) and multiplied into every row of x; per row of x one vector accumulator,
// summed across lanes at the end of W's row, so each output is summed by one thread in a fixed order.
// Included by native/src/{avx2,avx512}/ggml_*.cc and ggml/kernels.cc, each with its own V.
#pragma once
#include <algorithm>

#include "ggml/blocks.h"
#include "quant/quant.h"

namespace peftjs::ggml::detail {

// Blocks are decoded a run of kRunFloats at a time before any is read back: reading a vector straight
// after the narrower stores that wrote it defeats store-to-load forwarding (a stall per load, which
// made Q8_0 4-5x slower than Q4_0 under AVX-512 and Q4_0 as slow under AVX2, by which way the compiler
// vectorised each decoder). The sums are the same: each lane adds the same products in the same order.
constexpr int kRunFloats = 1024;

template <typename V, typename B, int M>
void gemv_rows(const Weight& w, const float* x, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  constexpr int QK = B::kElements;
  constexpr int64_t kRunBlocks = kRunFloats / QK > 0 ? kRunFloats / QK : 1;
  static_assert(QK % V::kWidth == 0, "a block is a whole number of vectors");
  const int64_t K = w.cols, nb = K / QK, row_bytes = nb * B::kBytes;
  alignas(64) float tmp[kRunBlocks * QK];
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.data + j * row_bytes;
    typename V::T acc[M];
    for (int i = 0; i < M; ++i) acc[i] = V::zero();
    for (int64_t b0 = 0; b0 < nb; b0 += kRunBlocks) {
      const int64_t n = std::min<int64_t>(kRunBlocks, nb - b0);
      for (int64_t b = 0; b < n; ++b) B::decode(row + (b0 + b) * B::kBytes, tmp + b * QK);
      const float* xb = x + b0 * QK;
      for (int64_t t = 0; t < n * QK; t += V::kWidth) {
        const typename V::T wv = V::load(tmp + t);
        for (int i = 0; i < M; ++i) acc[i] = V::fma(wv, V::load(xb + i * K + t), acc[i]);
      }
    }
    for (int i = 0; i < M; ++i) y[i * ldy + j] = V::sum(acc[i]);
  }
}

template <typename V, typename B>
void gemv(int64_t m, const Weight& w, const float* x, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  quant::detail::with_rows(m, [&](auto rows) { gemv_rows<V, B, decltype(rows)::value>(w, x, j0, j1, y, ldy); });
}

template <typename V>
Gemv gemv_for(Type t) {
  return with_block(t, [](auto block) -> Gemv { return gemv<V, decltype(block)>; });
}

}  // namespace peftjs::ggml::detail
