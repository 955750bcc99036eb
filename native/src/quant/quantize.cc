// Quantisers, ported from bitsandbytes' reference backend, the one it runs for 4-bit quantisation on
// the CPU (bitsandbytes/backends/default/ops.py at 95f9af3: quantize_4bit, quantize_blockwise), so
// that the same input gives the same bytes as there and as src/quant/blockwise.ts:
// - per block, absmax = max |x| (NaN if the block holds one, as torch.max; every element's index is
//   then bucketize's for NaN); a full block is scaled by x * (1 / max(absmax, 1e-38)), the last
//   partial block by x / max(absmax, 1e-38) (whose stored absmax is the clamped one), then clamped to
//   [-1, 1], all in float32;
// - the index is torch.bucketize over the float32 midpoints of the sorted code (right=False: a value on
//   a midpoint takes the lower code), mapped back through the code's stable argsort (FP4 is not
//   sorted; +0 sorts before -0);
// - an odd element count's last byte is padded with the index of 0.0.
// bitsandbytes' CUDA kernel (csrc/kernels.cu kQuantizeBlockwise) differs only at code boundaries, in
// FP4's tiny values, and in all-zero blocks; dequantisation is the same everywhere.
// - int8 rows: int8_vectorwise_quant without outliers (default/ops.py; csrc/kernels.cu
//   kInt8VectorQuant) of the weight in float16, as Int8Params._quantize casts it first: absmax per
//   row, 127 / absmax in float32, round half to even (the activations' row quantiser, Kernels::quantize_row8).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "quant/quant.h"
#include "threadpool.h"

namespace peftjs::quant {
namespace {

// The sorted code's float32 midpoints and, per sorted position, the code index it stands for
// (bitsandbytes' _get_4bit_quantize_bounds; for the sorted 8-bit code the order is the identity).
class Bounds {
 public:
  Bounds(const float* code, int n) : order_(n), mid_(n - 1) {
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) { return code[a] < code[b]; });
    for (int i = 0; i + 1 < n; ++i) mid_[i] = (code[order_[i]] + code[order_[i + 1]]) / 2.0f;
  }
  // torch.bucketize(v, midpoints, right=False) (the count of midpoints below v; NaN gives 0), as a code index.
  uint8_t index(float v) const {
    return static_cast<uint8_t>(order_[std::lower_bound(mid_.begin(), mid_.end(), v) - mid_.begin()]);
  }

 private:
  std::vector<int> order_;
  std::vector<float> mid_;
};

constexpr float kMinAbsmax = 1e-38f;

// torch.clamp(v, -1, 1): NaN stays NaN.
inline float clamp1(float v) { return v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v; }

// Quantises block b of n elements: stores its absmax and calls emit(e, index) for each element.
template <typename Emit>
void quantize_block(const void* src, BType type, int64_t n, int64_t block, const Bounds& bounds, int64_t b,
                    float* absmax, Emit emit) {
  const int64_t e0 = b * block, e1 = std::min(n, e0 + block);
  float m = 0.0f;
  for (int64_t e = e0; e < e1; ++e) m = nan_max(m, std::fabs(gemm_detail::load_b<float>(src, type, e)));
  const float clamped = std::max(m, kMinAbsmax);
  const bool partial = e1 - e0 < block;
  absmax[b] = partial ? clamped : m;
  const float r = 1.0f / clamped;
  for (int64_t e = e0; e < e1; ++e) {
    const float x = gemm_detail::load_b<float>(src, type, e);
    emit(e, bounds.index(clamp1(partial ? x / clamped : x * r)));
  }
}

// Runs fn(b) for every block b of n elements, on the thread pool.
template <typename Fn>
void for_blocks(int64_t n, int64_t block, Fn fn) {
  const int64_t blocks = (n + block - 1) / block;
  parallel_range(blocks, std::max<int64_t>(1, 16384 / block), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(b);
  });
}

}  // namespace

void quantize_4bit(const void* src, BType type, int64_t n, int64_t block, const float* code, uint8_t* packed,
                   float* absmax) {
  const Bounds bounds(code, 16);
  // block is even, so no two blocks share a byte: each task ORs nibbles into bytes only it writes.
  std::fill(packed, packed + (n + 1) / 2, 0);
  for_blocks(n, block, [&](int64_t b) {
    quantize_block(src, type, n, block, bounds, b, absmax,
                   [&](int64_t e, uint8_t q) { packed[e >> 1] |= e & 1 ? q : q << 4; });
  });
  if (n % 2 == 1) packed[n >> 1] |= bounds.index(0.0f);
}

void quantize_blockwise_8bit(const float* src, int64_t n, int64_t block, const float* code, uint8_t* out, float* absmax) {
  const Bounds bounds(code, 256);
  for_blocks(n, block, [&](int64_t b) {
    quantize_block(src, BType::F32, n, block, bounds, b, absmax, [&](int64_t e, uint8_t q) { out[e] = q; });
  });
}

void quantize_int8_rows(const void* src, BType type, int64_t rows, int64_t cols, int8_t* out, float* row_absmax) {
  const auto& kern = detail::kernels_for_cpu();
  parallel_range(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> wide(type == BType::F32 ? 0 : static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = static_cast<const float*>(src) + r * cols;
      if (type != BType::F32) {
        for (int64_t c = 0; c < cols; ++c) wide[c] = gemm_detail::load_b<float>(src, type, r * cols + c);
        row = wide.data();
      }
      kern.quantize_row8(row, cols, 0, reinterpret_cast<uint8_t*>(out + r * cols), row_absmax + r);
    }
  });
}

}  // namespace peftjs::quant
