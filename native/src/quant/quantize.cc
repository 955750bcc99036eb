// Quantisers, ported from bitsandbytes so that the same input gives the same bytes (the hub's
// "*-bnb-4bit" checkpoints are written by its CUDA kernels):
// - 4-bit: csrc/kernels.cu, kQuantizeBlockwise<T, BLOCK, NUM_PER_TH, 0, NF4/FP4>: the block absmax
//   (fmaxf of fabsf, from -FLT_MAX), its float32 reciprocal, and each element times the reciprocal
//   mapped by the decision trees dQuantizeNF4 / dQuantizeFP4 (thresholds at the midpoints between
//   code values; a value on a threshold goes down). A partial last block is padded with zeros, so an
//   odd element count's last low nibble is the code of 0 * reciprocal.
// - 8-bit (the nested absmax of double quantisation): the same kernel with General8bit, i.e.
//   dQuantize<0>'s binary search over the 256-value code with its midpoint rounding.
// - int8 rows: csrc/kernels.cu kInt8VectorQuant without outliers (absmax per row, 127 / absmax in
//   float32, round half to even), as bitsandbytes' int8_vectorwise_quant.
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "quant/quant.h"
#include "threadpool.h"

namespace peftjs::quant {
namespace {

// dQuantizeNF4 (csrc/kernels.cu): the NF4 index of x in [-1, 1].
inline uint8_t nf4_index(float x) {
  if (x > 0.03979014977812767f) {
    if (x > 0.3893125355243683f) {
      if (x > 0.6427869200706482f) return x > 0.8614784181118011f ? 0b1111 : 0b1110;
      return x > 0.5016634166240692f ? 0b1101 : 0b1100;
    }
    if (x > 0.2035212516784668f) return x > 0.2920137718319893f ? 0b1011 : 0b1010;
    return x > 0.1202552504837513f ? 0b1001 : 0b1000;
  }
  if (x > -0.33967943489551544f) {
    if (x > -0.13791173323988914f) return x > -0.045525018125772476f ? 0b0111 : 0b0110;
    return x > -0.23460740596055984f ? 0b0101 : 0b0100;
  }
  if (x > -0.6106329262256622f) return x > -0.4599952697753906f ? 0b0011 : 0b0010;
  return x > -0.8480964004993439f ? 0b0001 : 0b0000;
}

// dQuantizeFP4 (csrc/kernels.cu): sign bit 8, then the magnitude's index (code order 0, 0.0052, 0.667,
// 1, 0.333, 0.5, 0.167, 0.25).
inline uint8_t fp4_index(float x) {
  const uint8_t sign = x < 0 ? 0b1000 : 0;
  x = std::fabs(x);
  if (x > 0.29166667f) {
    if (x > 0.583333f) return (x > 0.8333333f ? 0b0011 : 0b0010) + sign;
    return (x > 0.4166667f ? 0b0101 : 0b0100) + sign;
  }
  if (x > 0.0859375f) return (x > 0.20833333f ? 0b0111 : 0b0110) + sign;
  return (x > 0.00260417f ? 0b0001 : 0b0000) + sign;
}

// dQuantize<0> (csrc/kernels.cu): binary search of x in the sorted 256-value code, then the nearer
// neighbour by comparing with the float32 midpoint.
inline uint8_t dynamic_index(const float* code, float x) {
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f, val = code[pivot];
  for (int i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lower_pivot = pivot;
      lower = val;
      pivot += i;
    } else {
      upper_pivot = pivot;
      upper = val;
      pivot -= i;
    }
    val = code[pivot];
  }
  if (upper_pivot == 255) upper = code[upper_pivot];
  if (lower_pivot == 0) lower = code[lower_pivot];
  if (x > val) return (x > (upper + val) * 0.5f) ? upper_pivot : pivot;
  return (x < (lower + val) * 0.5f) ? lower_pivot : pivot;
}

// Runs fn(b) for every block b of n elements, on the thread pool.
template <typename Fn>
void for_blocks(int64_t n, int64_t block, Fn fn) {
  const int64_t blocks = (n + block - 1) / block;
  parallel_range(blocks, std::max<int64_t>(1, 16384 / block), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(b);
  });
}

// The float32 absmax of elements [e0, e1) (-FLT_MAX for none, as the CUDA reduction starts).
inline float block_absmax(const void* src, BType type, int64_t e0, int64_t e1) {
  float m = -FLT_MAX;
  for (int64_t e = e0; e < e1; ++e) m = std::fmax(m, std::fabs(gemm_detail::load_b<float>(src, type, e)));
  return m;
}

}  // namespace

void quantize_4bit(const void* src, BType type, int64_t n, int64_t block, Type4 qtype, uint8_t* packed, float* absmax) {
  auto index = qtype == Type4::NF4 ? nf4_index : fp4_index;
  // block is even, so every block starts on a byte.
  for_blocks(n, block, [&](int64_t b) {
    const int64_t e0 = b * block, e1 = std::min(n, e0 + block);
    const float m = block_absmax(src, type, e0, e1);
    absmax[b] = m;
    const float r = 1.0f / m;
    for (int64_t e = e0; e < e1; e += 2) {
      const float hi = gemm_detail::load_b<float>(src, type, e);
      const float lo = e + 1 < e1 ? gemm_detail::load_b<float>(src, type, e + 1) : 0.0f;
      packed[e >> 1] = static_cast<uint8_t>(index(hi * r) << 4 | index(lo * r));
    }
  });
}

void quantize_blockwise_8bit(const float* src, int64_t n, int64_t block, const float* code, uint8_t* out, float* absmax) {
  for_blocks(n, block, [&](int64_t b) {
    const int64_t e0 = b * block, e1 = std::min(n, e0 + block);
    const float m = block_absmax(src, BType::F32, e0, e1);
    absmax[b] = m;
    const float r = 1.0f / m;
    for (int64_t e = e0; e < e1; ++e) out[e] = dynamic_index(code, src[e] * r);
  });
}

void quantize_int8_rows(const void* src, BType type, int64_t rows, int64_t cols, int8_t* out, float* row_absmax) {
  parallel_range(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t e0 = r * cols, e1 = e0 + cols;
      const float m = block_absmax(src, type, e0, e1);
      row_absmax[r] = m;
      const float scale = 127.0f / m;
      for (int64_t e = e0; e < e1; ++e) {
        const float v = std::nearbyint(gemm_detail::load_b<float>(src, type, e) * scale);
        out[e] = std::isnan(v) ? 0 : static_cast<int8_t>(std::fmax(-128.0f, std::fmin(127.0f, v)));
      }
    }
  });
}

}  // namespace peftjs::quant
