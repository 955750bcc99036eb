// dtype conversion of contiguous buffers: every source type is read as double (exact for all
// but huge int64, which PyTorch also converts through floating point) or float for the 16-bit types.
#include <stdexcept>

#include "elementwise/elementwise.h"
#include "elementwise/half.h"
#include "threadpool.h"

namespace peftjs {
namespace {


template <typename From, typename To>
void cast_loop(const From* src, To* dst, int64_t n) {
  parallel_range(n, 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = static_cast<To>(src[i]);
  });
}

// Reads element i of any dtype as float (16-bit floats) or its natural type.
template <typename Fn>
void with_source(int from, const void* src, Fn fn) {
  switch (from) {
    case D_F32: return fn(static_cast<const float*>(src));
    case D_F64: return fn(static_cast<const double*>(src));
    case D_I32: return fn(static_cast<const int32_t*>(src));
    case D_I64: return fn(static_cast<const int64_t*>(src));
    case D_U8: return fn(static_cast<const uint8_t*>(src));
    default: throw std::invalid_argument("cast: bad source dtype");
  }
}

}  // namespace

void cast_contiguous(int from, const void* src, int to, void* dst, int64_t n) {
  // 16-bit floats go through a float32 buffer in chunks.
  if (from == D_BF16 || from == D_F16) {
    const auto* h = static_cast<const uint16_t*>(src);
    if (to == D_F32) {
      auto* o = static_cast<float*>(dst);
      parallel_range(n, 1 << 16, [&](int64_t b, int64_t e) {
        if (from == D_BF16) for (int64_t i = b; i < e; ++i) o[i] = bf16_to_float(h[i]);
        else for (int64_t i = b; i < e; ++i) o[i] = f16_to_float(h[i]);
      });
      return;
    }
    constexpr int64_t chunk = 4096;
    float tmp[chunk];
    for (int64_t s = 0; s < n; s += chunk) {
      const int64_t m = n - s < chunk ? n - s : chunk;
      cast_contiguous(from, h + s, D_F32, tmp, m);
      int to_size = (to == D_F64 || to == D_I64) ? 8 : (to == D_U8 || to == D_BOOL) ? 1 : (to == D_F32 || to == D_I32) ? 4 : 2;
      cast_contiguous(D_F32, tmp, to, static_cast<uint8_t*>(dst) + s * to_size, m);
    }
    return;
  }
  if (from == D_BOOL) from = D_U8;
  switch (to) {
    case D_F32: return with_source(from, src, [&](auto* s) { cast_loop(s, static_cast<float*>(dst), n); });
    case D_F64: return with_source(from, src, [&](auto* s) { cast_loop(s, static_cast<double*>(dst), n); });
    case D_I32: return with_source(from, src, [&](auto* s) { cast_loop(s, static_cast<int32_t*>(dst), n); });
    case D_I64: return with_source(from, src, [&](auto* s) { cast_loop(s, static_cast<int64_t*>(dst), n); });
    case D_U8: return with_source(from, src, [&](auto* s) { cast_loop(s, static_cast<uint8_t*>(dst), n); });
    case D_BOOL:
      return with_source(from, src, [&](auto* s) {
        auto* o = static_cast<uint8_t*>(dst);
        parallel_range(n, 1 << 16, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) o[i] = s[i] != 0;
        });
      });
    case D_BF16:
    case D_F16:
      return with_source(from, src, [&](auto* s) {
        auto* o = static_cast<uint16_t*>(dst);
        const bool bf = to == D_BF16;
        parallel_range(n, 1 << 16, [&](int64_t b, int64_t e) {
          if (bf) for (int64_t i = b; i < e; ++i) o[i] = float_to_bf16(static_cast<float>(s[i]));
          else for (int64_t i = b; i < e; ++i) o[i] = float_to_f16(static_cast<float>(s[i]));
        });
      });
    default: throw std::invalid_argument("cast: bad target dtype");
  }
}

}  // namespace peftjs
