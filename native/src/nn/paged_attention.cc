// Paged attention entry points (the AVX2 build where the CPU has it, else the portable one) and
// the pool's writes and gathers, which are copies.
#include "nn/paged_attention.h"

#include <cstring>

#include "cpu.h"
#include "nn/paged_attention_impl.h"

namespace peftjs::nn {

void paged_attention(const PagedConfig& c, const PagedPool& pool, const float* q, float* out) {
#if PEFTJS_X86
  if (simd_level() != Simd::Portable) return paged_attention_avx2(c, pool, q, out);
#endif
  paged_dispatch(c, pool, q, out);
}

void paged_write(const PagedConfig& c, void* pool, const void* x, int64_t bytes) {
  auto* to = static_cast<uint8_t*>(pool);
  const auto* from = static_cast<const uint8_t*>(x);
  const int64_t row_bytes = c.D * bytes;
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t h = 0; h < c.Hkv; ++h)
      for (int64_t i = 0; i < c.Tq; ++i) {
        const int64_t src = ((r * c.Hkv + h) * c.Tq + i) * row_bytes;
        std::memcpy(to + slot(c, r, h, c.cached[r] + i) * bytes, from + src, row_bytes);
      }
}

void paged_gather(const PagedConfig& c, const void* pool, void* out, int64_t width, int64_t bytes) {
  const auto* from = static_cast<const uint8_t*>(pool);
  auto* to = static_cast<uint8_t*>(out);
  for (int64_t r = 0; r < c.rows; ++r) {
    const int64_t total = c.cached[r] + c.Tq, pad = width - total;
    for (int64_t h = 0; h < c.Hkv; ++h) {
      uint8_t* dst = to + (r * c.Hkv + h) * width * c.D * bytes;
      std::memset(dst, 0, pad * c.D * bytes);
      for (int64_t p0 = 0; p0 < total; p0 += c.block_size) {
        const int64_t n = std::min(c.block_size, total - p0);
        std::memcpy(dst + (pad + p0) * c.D * bytes, from + slot(c, r, h, p0) * bytes, n * c.D * bytes);
      }
    }
  }
}

}  // namespace peftjs::nn
