// Normal samples for initialising model weights (HF's _init_weights: normal(0, initializer_range)),
// fast enough for a billion parameters: counter-based, so each value depends only on the seed and
// its index, never on the thread count. Values come in blocks of 4096, each with its own key
// (splitmix64 of the seed and block number); within a block, pair j takes two 32-bit hashes
// (Wellons' lowbias32, twice, keyed) of its index, turned into a normal pair by Box-Muller with
// branch-free polynomial log, sine and cosine (cephes' logf, sinf, cosf coefficients, ~1 ulp) that
// the compiler vectorises. Not torch's stream: where bit-parity with torch matters (VeRA, adapter
// init) the TypeScript TorchCpuGenerator is used instead.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "elementwise/half.h"
#include "modules.h"
#include "napi_util.h"
#include "threadpool.h"

namespace peftjs {
namespace {

constexpr int64_t kBlock = 4096;

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// ln(x) for x > 0 (cephes logf): x = m · 2^e with m in [√½, √2), then a polynomial in m − 1.
inline float log_positive(float x) {
  uint32_t bits = float_to_bits(x);
  float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127);
  float m = bits_to_float((bits & 0x7fffffu) | 0x3f800000u);  // [1, 2)
  // 1 when m > √2 (mantissa bits above √2's), by integer arithmetic: no branch, so the loop vectorises.
  float big = static_cast<float>(static_cast<int32_t>((0x3504f3u - (bits & 0x7fffffu)) >> 31));
  m *= 1.0f - 0.5f * big;
  e += big;
  float f = m - 1.0f;
  float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * z * f;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  return f + y + 0.693359375f * e;
}

// One normal pair from two uniform 32-bit words. The angle is a quarter turn q (top two bits of b)
// plus φ in [−π/4, π/4) (the next 24 bits): uniform on the circle, and φ needs no range reduction.
inline void normal_pair(uint32_t a, uint32_t b, float& z0, float& z1) {
  // Below 2^24, so exact through a signed conversion (which SSE2 has).
  float u = static_cast<float>(static_cast<int32_t>((a >> 8) + 1)) * 5.9604644775390625e-8f;  // (0, 1]
  float r = std::sqrt(-2.0f * log_positive(u));
  float phi = (static_cast<float>(static_cast<int32_t>((b >> 6) & 0xffffffu)) * 5.9604644775390625e-8f - 0.5f) * 1.57079632679f;
  float p2 = phi * phi;
  float s = ((-1.9515295891e-4f * p2 + 8.3321608736e-3f) * p2 - 1.6666654611e-1f) * p2 * phi + phi;
  float c = ((2.443315711809948e-5f * p2 - 1.388731625493765e-3f) * p2 + 4.166664568298827e-2f) * p2 * p2 - 0.5f * p2 + 1.0f;
  // Rotating by q quarter turns swaps (cos, sin) for odd q, negates cos for q = 1, 2, sin for q = 2, 3.
  uint32_t q = b >> 30;
  float odd = static_cast<float>(static_cast<int32_t>(q & 1u));
  float cs = c + (s - c) * odd, sn = s + (c - s) * odd;
  z0 = r * cs * (1.0f - 2.0f * static_cast<float>(static_cast<int32_t>((q ^ (q >> 1)) & 1u)));
  z1 = r * sn * (1.0f - 2.0f * static_cast<float>(static_cast<int32_t>(q >> 1)));
}

// The standard normals of elements [block·kBlock, (block + 1)·kBlock) into z. Built twice (AVX2 and
// baseline SSE2, chosen at load time by GCC's ifunc); both compute the same bits (no FMA contraction).
#if defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
void normal_block(uint64_t seed, int64_t block, float* z) {
  uint64_t key = splitmix64(seed ^ splitmix64(static_cast<uint64_t>(block)));
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int64_t j = 0; j < kBlock / 2; ++j) {
    uint32_t i = static_cast<uint32_t>(2 * j);
    uint32_t a = lowbias32(lowbias32(i ^ k0) + k1);
    uint32_t b = lowbias32(lowbias32((i + 1) ^ k0) + k1);
    normal_pair(a, b, z[2 * j], z[2 * j + 1]);
  }
}

template <typename T, typename Convert>
void fill_normal(T* out, int64_t n, float mean, float std_dev, uint64_t seed, Convert convert) {
  int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_range(blocks, 16, [&](int64_t begin, int64_t end) {
    float z[kBlock];
    for (int64_t b = begin; b < end; ++b) {
      int64_t count = std::min<int64_t>(kBlock, n - b * kBlock);
      normal_block(seed, b, z);
      T* dst = out + b * kBlock;
      for (int64_t i = 0; i < count; ++i) dst[i] = convert(mean + std_dev * z[i]);
    }
  });
}

}  // namespace

void register_random(Napi::Env env, Napi::Object exports) {
  // randomNormal(out, dtypeCode, count, mean, std, seedHigh, seedLow): out[0, count) = mean + std · N(0, 1).
  exports.Set("randomNormal", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                int64_t code = i64(info[1]), n = i64(info[2]);
                float mean = static_cast<float>(f64(info[3])), std_dev = static_cast<float>(f64(info[4]));
                uint64_t seed = (static_cast<uint64_t>(i64(info[5])) << 32) | static_cast<uint32_t>(i64(info[6]));
                check_length(info[0], 0, n, "randomNormal output");
                if (code == 0) {
                  fill_normal(ptr<float>(info[0]), n, mean, std_dev, seed, [](float v) { return v; });
                } else if (code == 2) {
                  fill_normal(ptr<uint16_t>(info[0]), n, mean, std_dev, seed, float_to_bf16);
                } else if (code == 3) {
                  fill_normal(ptr<uint16_t>(info[0]), n, mean, std_dev, seed, float_to_f16);
                } else {
                  throw Napi::TypeError::New(info.Env(), "randomNormal: float32, bfloat16 or float16 output only");
                }
              }));
}

}  // namespace peftjs
