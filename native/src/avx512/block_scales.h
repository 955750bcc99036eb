// The per-lane block scales of a span for the AVX-512 few-row kernels (quant_avx512.cc, quant_bf16_avx512.cc).
// Included only by files built with -mavx512f.
#pragma once
#include <immintrin.h>

#include "quant/block_scales.h"

namespace peftjs::quant::detail {

// The per-lane scales of 128-element span `s` of a row whose first block is b0: SB blocks per span
// (4 for blocks of 32, 2 for 64), lane l in block b0 + s * SB + l * SB / 16; SB == 1 (blocks of 128
// and more) with span_shift = log2(block / 128), every lane in block b0 + (s >> span_shift).
template <int SB>
inline __m512 span_scales(BlockScales& scales, int64_t b0, int64_t s, int span_shift) {
  const int64_t b = b0 + (SB > 1 ? s * SB : s >> span_shift);
  __m512 scale = _mm512_set1_ps(scales(b));
  for (int k = 1; k < SB; ++k)  // lanes [16 k / SB, 16 (k + 1) / SB) are in block b + k
    scale = _mm512_mask_mov_ps(scale, static_cast<__mmask16>(((1u << (16 / SB)) - 1) << (16 / SB * k)), _mm512_set1_ps(scales(b + k)));
  return scale;
}

}  // namespace peftjs::quant::detail
