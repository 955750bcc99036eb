// Block scales of a 4-bit weight for the AVX-512 few-row kernels (quant_avx512.cc, quant_bf16_avx512.cc).
// Included only by files built with -mavx512f.
#pragma once
#include <immintrin.h>

#include "quant/quant.h"

namespace peftjs::quant::detail {

// The scales of a 4-bit weight's blocks, visited in increasing order: the float32 absmax as stored, or
// with double quantisation an entry of a 256-value table, the scale of each 8-bit code in the current
// nested block (nested_code[q] * nested_absmax + offset, rounded as Weight4::scale does), rebuilt when
// the walk enters the next nested block: one load per block instead of decoding it. (Decoding 16
// blocks at once with a gather from the code, or with permutes, took a quarter to a third of the
// few-row product's time on AMD Zen 5.)
class BlockScales {
 public:
  explicit BlockScales(const Weight4& w) : w_(w) {}
  float operator()(int64_t b) {
    if (w_.absmax) return w_.absmax[b];
    if (b >= end_) rebuild(b);
    return table_[w_.nested_codes[b]];
  }

 private:
  void rebuild(int64_t b) {
    const int64_t nested = b / w_.nested_block;
    end_ = (nested + 1) * w_.nested_block;
    const __m512 scale = _mm512_set1_ps(w_.nested_absmax[nested]), offset = _mm512_set1_ps(w_.offset);
    for (int q = 0; q < 256; q += 16) {
      __m512 product = _mm512_mul_ps(_mm512_loadu_ps(w_.nested_code + q), scale);
      __asm__("" : "+v"(product));  // two roundings, no FMA (see Weight4::scale)
      _mm512_store_ps(table_ + q, _mm512_add_ps(product, offset));
    }
  }
  const Weight4& w_;
  int64_t end_ = -1;  // the first block past the table's nested block (-1: no table yet)
  alignas(64) float table_[256];
};

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
