// Inverted dropout with a counter-based mask: element i is kept when the top 32 bits of
// splitmix64(seed, i) are >= p * 2^32, so any thread computes any element's bit independently.
#include <cmath>
#include <stdexcept>

#include "elementwise/elementwise.h"
#include "elementwise/half.h"
#include "index/index.h"
#include "threadpool.h"

namespace peftjs {
namespace {

inline uint64_t mix(uint32_t seed, uint64_t i) {
  uint64_t z = i + static_cast<uint64_t>(seed) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <typename T, typename Load, typename Store>
void run(const T* x, int64_t n, uint32_t seed, double p, double scale, T* out, Load load, Store store) {
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(p * 4294967296.0));
  parallel_range(n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const bool keep = (mix(seed, static_cast<uint64_t>(i)) >> 32) >= threshold;
      out[i] = store(keep ? load(x[i]) * scale : 0.0);
    }
  });
}

}  // namespace

void dropout(int dtype, const void* x, int64_t n, uint32_t seed, double p, double scale, void* out) {
  auto same = [](auto v) { return v; };
  switch (dtype) {
    case D_F32:
      return run(static_cast<const float*>(x), n, seed, p, scale, static_cast<float*>(out), same,
                 [](double v) { return static_cast<float>(v); });
    case D_F64: return run(static_cast<const double*>(x), n, seed, p, scale, static_cast<double*>(out), same, same);
    case D_BF16:
      return run(static_cast<const uint16_t*>(x), n, seed, p, scale, static_cast<uint16_t*>(out), bf16_to_float,
                 [](double v) { return float_to_bf16(static_cast<float>(v)); });
    case D_F16:
      return run(static_cast<const uint16_t*>(x), n, seed, p, scale, static_cast<uint16_t*>(out), f16_to_float,
                 [](double v) { return float_to_f16(static_cast<float>(v)); });
    default: throw std::invalid_argument("dropout: float32, float64, bfloat16 or float16 only");
  }
}

}  // namespace peftjs
