// The block scales of a 4-bit weight for the few-row kernels (avx2/quant_avx2.cc, avx512/quant_*.cc):
// x86 files built with AVX2 or AVX-512 only.
#pragma once
#include <cstdint>
#include <cstring>

#include "quant/quant.h"

namespace peftjs::quant::detail {

// The scales of a 4-bit weight's blocks, visited in increasing order: the float32 absmax as stored, or
// with double quantisation an entry of a 256-value table, the scale of each 8-bit code in the current
// nested block (nested_code[q] * nested_absmax + offset, rounded as Weight4::scale does), rebuilt when
// the walk enters the next nested block: one load per block instead of decoding it (with an integer
// division) per block. (Decoding 16 blocks at once with a gather from the code, or with permutes, took
// a quarter to a third of the AVX-512 few-row product's time on AMD Zen 5.)
class BlockScales {
 public:
  explicit BlockScales(const Weight4& w) : w_(w) {}
  float operator()(int64_t b) {
    if (w_.absmax) return w_.absmax[b];
    if (b >= end_) rebuild(b);
    return table_[w_.nested_codes[b]];
  }

 private:
  // Eight entries at a time (GCC vectors: the including files are built for AVX2 or AVX-512); the empty
  // asm on each product keeps the two roundings (no FMA), as Weight4::scale does.
  void rebuild(int64_t b) {
    typedef float Vec8 __attribute__((vector_size(32)));
    const int64_t nested = b / w_.nested_block;
    end_ = (nested + 1) * w_.nested_block;
    const float scale = w_.nested_absmax[nested];
    for (int q = 0; q < 256; q += 8) {
      Vec8 product;
      std::memcpy(&product, w_.nested_code + q, sizeof(product));
      product *= scale;
      __asm__("" : "+x"(product));
      const Vec8 entry = product + w_.offset;
      std::memcpy(table_ + q, &entry, sizeof(entry));
    }
  }
  const Weight4& w_;
  int64_t end_ = -1;  // the first block past the table's nested block (-1: no table yet)
  alignas(64) float table_[256];
};

}  // namespace peftjs::quant::detail
