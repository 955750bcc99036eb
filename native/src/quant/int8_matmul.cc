// The forward of the int8 layer as bitsandbytes' Linear8bitLt computes it with threshold 0 (LLM.int8
// without the outlier split; autograd/_functions.py MatMul8bitLt and the default backend's ops):
//   1. int8_vectorwise_quant(x.to(float16)): per row of x, s = max |x| in float32 and
//      q = round(x * (127 / s)) half to even (0 where that is NaN: a zero row);
//   2. int8_linear_matmul: the exact int32 sums of q·Wqᵀ;
//   3. int8_mm_dequant: y = acc * (s_x * s_w) * 6.200124e-05 (1/127² in float32), + bias, in float32.
// Steps 1 and 2 are the instruction set's kernels (F16C conversions; VNNI's vpdpbusd, AVX2's vpmaddubsw,
// or plain C++): step 1 rounds each value once per operation as the scalar code does and step 2's sums
// are exact integers, so every path gives the same bits. Step 3 is plain float32 code here, built
// without FMA (this file is in the generic group), so no product is fused with the next.
#include <algorithm>
#include <vector>

#include "quant/driver.h"
#include "quant/quant.h"
#include "thread_scratch.h"
#include "threadpool.h"

namespace peftjs::quant {
namespace {

constexpr float kMmDequant = 6.200124e-05f;  // bitsandbytes' MM_DEQUANT_CONST
constexpr int64_t kPanelBytes = 1 << 16;  // rows of W multiplied by every row of x while in L2

}  // namespace

void linear_int8(const float* x, int64_t M, const WeightInt8& w, const float* bias, float* y) {
  if (empty_product(M, w.rows, w.cols, bias, y)) return;
  const auto& kern = detail::kernels_for_cpu();
  const int64_t N = w.rows, K = w.cols;
  std::vector<uint8_t> xq(static_cast<size_t>(M * K));
  std::vector<float> sx(static_cast<size_t>(M));
  parallel_range(M, std::max<int64_t>(1, (1 << 14) / K), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) kern.quantize_row8(x + i * K, K, kern.dot8_shift, xq.data() + i * K, &sx[i]);
  });
  const int64_t panel = std::max<int64_t>(1, kPanelBytes / K);
  parallel_range(N, std::min(N, panel), [&](int64_t c0, int64_t c1) {
    thread_local ThreadScratch scratch;
    const int64_t width = std::min(panel, c1 - c0);
    auto* acc = static_cast<int32_t*>(scratch.reserve(sizeof(int32_t) * detail::kGemvRows * width));
    for (int64_t j0 = c0; j0 < c1; j0 += panel) {
      const int64_t j1 = std::min(c1, j0 + panel);
      for (int64_t i0 = 0; i0 < M; i0 += detail::kGemvRows) {
        const int64_t m = std::min<int64_t>(detail::kGemvRows, M - i0);
        kern.dot8(m, xq.data() + i0 * K, w, j0, j1, acc, j1 - j0);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = j0; j < j1; ++j) {
            float v = static_cast<float>(acc[i * (j1 - j0) + (j - j0)]) * (sx[i0 + i] * w.row_absmax[j]);
            v = v * kMmDequant;
            y[(i0 + i) * N + j] = bias ? v + bias[j] : v;
          }
      }
    }
  });
}

}  // namespace peftjs::quant
