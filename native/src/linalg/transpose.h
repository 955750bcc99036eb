// Blocked out-of-place matrix transpose (dst = srcᵀ), 32x32 tiles to stay within cache lines.
#pragma once
#include <algorithm>
#include <cstdint>

namespace peftjs {
namespace linalg {

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
template <typename T>
void transpose(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ldd) {
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) dst[c * ldd + r] = src[r * lds + c];
      }
    }
  }
}

}  // namespace linalg
}  // namespace peftjs
