// Whole-tensor dequantisation on the thread pool, in chunks of whole 32-element groups so that the
// SIMD kernels never start mid-group.
#include <algorithm>

#include "quant/quant.h"
#include "threadpool.h"

namespace peftjs::quant {
namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per task

template <typename Fn>
void in_chunks(int64_t n, Fn fn) {
  parallel_range((n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
    const int64_t e0 = c0 * kChunk, e1 = std::min(n, c1 * kChunk);
    fn(e0, e1 - e0);
  });
}

}  // namespace

void dequantize_4bit(const Weight4& w, float* out) {
  const auto& k = detail::kernels_for_cpu();
  in_chunks(w.numel(), [&](int64_t e0, int64_t count) { k.dequant4(w, e0, count, out + e0); });
}

void dequantize_int8_rows(const WeightInt8& w, float* out) {
  const auto& k = detail::kernels_for_cpu();
  in_chunks(w.rows * w.cols, [&](int64_t e0, int64_t count) { k.dequant8(w, e0, count, out + e0); });
}

}  // namespace peftjs::quant
