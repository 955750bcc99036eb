// Vectorisable building blocks of the nn kernels: exp, lane-parallel sums and maxima, and the
// counter hash behind attention dropout. Plain loops over fixed-size lane arrays, so the compiler
// vectorises them for whatever instruction set the including file is built with. The unnamed
// namespace gives every file its own copy: a copy built with -mavx2 must never be linked into
// the portable path.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace peftjs::nn {
namespace {

template <typename T>
constexpr T kInf = std::numeric_limits<T>::infinity();

template <typename T> struct BitsOf;
template <> struct BitsOf<float> { using type = int32_t; };
template <> struct BitsOf<double> { using type = int64_t; };

// c ? a : b without a branch. Under the default -ftrapping-math the compiler does not vectorise a
// ternary (or std::min/max) between floats when more arithmetic follows; a select on the bits it does.
template <typename T>
inline T pick(bool c, T a, T b) {
  using I = typename BitsOf<T>::type;
  I m = -static_cast<I>(c), ia, ib;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  I r = (ia & m) | (ib & ~m);
  T out;
  std::memcpy(&out, &r, sizeof r);
  return out;
}

// exp(x) to about 1 ulp for x <= 88 (float) / 709 (double); results below about 1e-38 (float) /
// 1e-308 (double) flush to 0, and exp(-inf) = 0: the clamp at `lo` makes the exponent field 0.
inline float vexp(float x) {
  const float lo = -88.0f, hi = 88.3f;
  float xc = pick(x < lo, lo, pick(x > hi, hi, x));
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  float t = xc * 1.44269504088896341f + magic;
  float n = t - magic;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  uint32_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits = (bits - 0x4B400000u + 127u) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline double vexp(double x) {
  const double lo = -709.0, hi = 709.0;
  double xc = pick(x < lo, lo, pick(x > hi, hi, x));
  const double magic = 6755399441055744.0;  // 1.5 * 2^52
  double t = xc * 1.4426950408889634074 + magic;
  double n = t - magic;
  double r = xc - n * 6.93145751953125e-1;
  r = r - n * 1.42860682030941723212e-6;
  // Taylor series to r^13: |r| <= 0.347, so the remainder is below 1e-17.
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits = (bits - 0x4338000000000000ULL + 1023u) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

constexpr int kLanes = 16;

// sum of f(i) for i in [0, n), in kLanes independent partial sums.
template <typename T, typename F>
inline T lane_sum(int64_t n, F f) {
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += f(i + l);
  }
  for (int l = 0; i + l < n; ++l) acc[l] += f(i + l);
  T s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

// max of x[0, n); -inf when n == 0.
template <typename T>
inline T lane_max(const T* x, int64_t n) {
  T acc[kLanes];
  for (int l = 0; l < kLanes; ++l) acc[l] = -kInf<T>;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] = acc[l] < x[i + l] ? x[i + l] : acc[l];
  }
  for (int l = 0; i + l < n; ++l) acc[l] = acc[l] < x[i + l] ? x[i + l] : acc[l];
  T m = acc[0];
  for (int l = 1; l < kLanes; ++l) m = m < acc[l] ? acc[l] : m;
  return m;
}

// murmur3's 32-bit finaliser: a bijection that mixes every input bit into every output bit.
inline uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  x ^= x >> 16;
  return x;
}

}  // namespace
}  // namespace peftjs::nn
