// The per-lane block scales of a span for the AVX2 few-row 4-bit kernels (quant_avx2.cc,
// quant_bf16_avx2.cc). Included only by files built with -mavx2.
#pragma once
#include <immintrin.h>

#include "quant/block_scales.h"

namespace peftjs::quant::detail {

// The per-lane scales of 64-element span `s` of a row whose first block is b0: with SB == 2 (blocks
// of 32) lanes 0-3 (bytes 0-15) are in block b0 + 2 s and lanes 4-7 in the next; with SB == 1 (blocks
// of 64 and more) and span_shift = log2(block / 64), every lane is in block b0 + (s >> span_shift).
template <int SB>
inline __m256 span_scales(BlockScales& scales, int64_t b0, int64_t s, int span_shift) {
  if (SB == 2) return _mm256_setr_m128(_mm_set1_ps(scales(b0 + 2 * s)), _mm_set1_ps(scales(b0 + 2 * s + 1)));
  return _mm256_set1_ps(scales(b0 + (s >> span_shift)));
}

}  // namespace peftjs::quant::detail
