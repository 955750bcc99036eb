// Portable quantised-weight kernels (plain C++), and the choice of kernels for this CPU.
#include <algorithm>
#include <cmath>

#include "cpu.h"
#include "elementwise/half.h"
#include "quant/quant.h"

namespace peftjs::quant::detail {
namespace {

constexpr int kGroup = 32;

void dequant4(const Weight4& w, int64_t e0, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t e = e0 + i;
    out[i] = w.code[w.nibble(e)] * w.scale(e / w.block);
  }
}

void gemv4(int64_t m, const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t K = w.cols;
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.packed + j * K / 2;
    for (int64_t i = 0; i < m; ++i) {
      const float* x = xp + i * K;
      float acc = 0.0f;
      for (int64_t g = 0; g < K; g += kGroup) {
        const float s = w.scale((j * K + g) / w.block);
        for (int t = 0; t < kGroup / 2; ++t) {
          const uint8_t byte = row[g / 2 + t];
          acc += x[g + t] * (w.code[byte >> 4] * s) + x[g + kGroup / 2 + t] * (w.code[byte & 15] * s);
        }
      }
      y[i * ldy + j] = acc;
    }
  }
}

void dequant8(const WeightInt8& w, int64_t e0, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t e = e0 + i;
    out[i] = static_cast<float>(w.data[e]) * w.row_absmax[e / w.cols] * kInv127;
  }
}

void dot8(int64_t m, const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc) {
  const int64_t K = w.cols;
  for (int64_t j = j0; j < j1; ++j)
    for (int64_t i = 0; i < m; ++i) {
      const auto* x = reinterpret_cast<const int8_t*>(xq + i * K);
      int32_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += int32_t{x[k]} * int32_t{w.data[j * K + k]};
      acc[i * ldacc + (j - j0)] = sum;
    }
}

void quantize_row8(const float* x, int64_t K, int shift, uint8_t* out, float* absmax) {
  float m = 0.0f;
  for (int64_t k = 0; k < K; ++k) m = nan_max(m, std::fabs(f16_to_float(float_to_f16(x[k]))));
  const float scale = 127.0f / m;
  for (int64_t k = 0; k < K; ++k) {
    const float v = f16_to_float(float_to_f16(x[k])) * scale;
    const int q = std::isnan(v) ? 0 : static_cast<int>(std::nearbyint(v));
    out[k] = static_cast<uint8_t>(q + shift);
  }
  *absmax = m;
}

}  // namespace

const Kernels& kernels_portable() {
  static const Kernels k{deinterleave<kGroup>, dequant4, gemv4, dequant8, dot8, 0, quantize_row8};
  return k;
}

const Kernels& kernels_for_cpu() {
#if PEFTJS_X86
  switch (simd_level()) {
    case Simd::Avx512:
      return kernels_avx512();
    case Simd::Avx2:
      return kernels_avx2();
    default:
      break;
  }
#endif
  return kernels_portable();
}

}  // namespace peftjs::quant::detail
