// Dequantising ggml's block types and the linear layer over them, through the quantised-linear drivers
// of native/src/quant/driver.h (few rows: the kernels of gemv_impl.h; more rows: the float32 GEMM,
// which decodes rows of W with dequant_range while it packs them (gemm.h's BDecoder); dequant_range is
// in a generic translation unit without FMA, so the values are ggml's bit for bit).
#include <algorithm>

#include "ggml/blocks.h"
#include "ggml/int8_dot.h"
#include "quant/driver.h"
#include "threadpool.h"

namespace peftjs::ggml {
namespace {

constexpr int64_t kChunkBlocks = 256;  // blocks per task when dequantising whole tensors

template <typename B>
void dequant_blocks(const Weight& w, int64_t e0, int64_t count, float* out) {
  constexpr int QK = B::kElements;
  const uint8_t* data = w.data;
  int64_t e = e0;
  const int64_t end = e0 + count;
  alignas(64) float tmp[QK];
  while (e < end) {
    const int64_t b = e / QK, at = e % QK;
    const int64_t n = std::min<int64_t>(QK - at, end - e);
    if (at == 0 && n == QK) {
      B::decode(data + b * B::kBytes, out + (e - e0));
    } else {  // a partial block: decode it whole, keep the part asked for
      B::decode(data + b * B::kBytes, tmp);
      std::copy(tmp + at, tmp + at + n, out + (e - e0));
    }
    e += n;
  }
}

quant::Source source(const Weight& w) {
  const detail::Gemv gemv = detail::gemv_for_cpu(w.type);
  const Layout l = layout(w.type);
  return quant::Source{w.rows,
                       w.cols,
                       static_cast<double>(l.bytes) / l.elements,
                       [&w](int64_t e0, int64_t n, float* out) { dequant_range(w, e0, n, out); },
                       [&w, gemv](int64_t m, const float* x, int64_t j0, int64_t j1, float* y) {
                         gemv(m, w, x, j0, j1, y, w.rows);
                       },
                       0};
}

}  // namespace

Layout layout(Type t) {
  return with_block(t, [](auto block) { return Layout{decltype(block)::kElements, decltype(block)::kBytes}; });
}

void dequant_range(const Weight& w, int64_t e0, int64_t count, float* out) {
  with_block(w.type, [&](auto block) { dequant_blocks<decltype(block)>(w, e0, count, out); });
}

void dequantize(const Weight& w, float* out) {
  const int64_t QK = layout(w.type).elements, n = w.rows * w.cols, blocks = n / QK;
  parallel_range((blocks + kChunkBlocks - 1) / kChunkBlocks, 1, [&](int64_t c0, int64_t c1) {
    const int64_t e0 = c0 * kChunkBlocks * QK, e1 = std::min(n, c1 * kChunkBlocks * QK);
    dequant_range(w, e0, e1 - e0, out + e0);
  });
}

void get_rows(const Weight& w, const int32_t* ids, int64_t n, float* out) {
  parallel_range(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, w.cols)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dequant_range(w, static_cast<int64_t>(ids[i]) * w.cols, w.cols, out + i * w.cols);
  });
}

void linear(const float* x, int64_t M, const Weight& w, const float* bias, float* y) {
  if (quant::empty_product(M, w.rows, w.cols, bias, y)) return;
  // Q4_0 / Q5_0 / Q8_0 / Q4_K: llama.cpp's integer arithmetic (x as Q8_0 blocks).
  if (has_int8_dot(w.type)) return linear_int8(x, M, w, bias, y);
  quant::forward(source(w), x, M, bias, y);
}

void linear_many(const float* x, int64_t M, const Weight* ws, const float* const* biases, float* const* ys, int count) {
  if (M > 0 && std::all_of(ws, ws + count, [](const Weight& w) { return has_int8_dot(w.type); }))
    return linear_int8_many(x, M, ws, biases, ys, count);
  for (int w = 0; w < count; ++w) linear(x, M, ws[w], biases[w], ys[w]);
}

void linear_backward(const float* gy, int64_t M, const Weight& w, float* gx) {
  if (!quant::empty_product(M, w.cols, w.rows, nullptr, gx)) quant::backward(source(w), gy, M, gx);
}

}  // namespace peftjs::ggml
