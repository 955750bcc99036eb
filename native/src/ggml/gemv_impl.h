// The few-row product y = x·Wᵀ over a ggml block type, written once for every instruction set: `V` is a
// vector of V::kWidth floats (V::zero, load, fma, sum). Each block of a row of W is decoded once into
// a small buffer (blocks.h) and multiplied into every row of x; per row of x one vector accumulator,
// summed across lanes at the end of W's row, so each output is summed by one thread in a fixed order.
// Included by native/src/{avx2,avx512}/ggml_*.cc and ggml/kernels.cc, each with its own V.
#pragma once
#include "ggml/blocks.h"
#include "quant/quant.h"

namespace peftjs::ggml::detail {

template <typename V, typename B, int M>
void gemv_rows(const Weight& w, const float* x, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  constexpr int QK = B::kElements;
  static_assert(QK % V::kWidth == 0, "a block is a whole number of vectors");
  const int64_t K = w.cols, nb = K / QK, row_bytes = nb * B::kBytes;
  alignas(64) float tmp[QK];
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.data + j * row_bytes;
    typename V::T acc[M];
    for (int i = 0; i < M; ++i) acc[i] = V::zero();
    for (int64_t b = 0; b < nb; ++b) {
      B::decode(row + b * B::kBytes, tmp);
      const float* xb = x + b * QK;
      for (int t = 0; t < QK; t += V::kWidth) {
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
