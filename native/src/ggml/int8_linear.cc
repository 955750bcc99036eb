// The integer path of the linear layer over Q4_0 / Q5_0 / Q8_0 weights (int8_dot.h): activations
// quantised to Q8_0 blocks once per call, then per task panels of 16 rows of W unpacked to int8 and
// multiplied into every row of x by the kernel of this CPU. The portable kernel here is the reference arithmetic.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu.h"
#include "elementwise/half.h"
#include "ggml/blocks.h"
#include "ggml/int8_dot.h"
#include "thread_scratch.h"
#include "threadpool.h"

namespace peftjs::ggml {
namespace {

using detail::kPanelRows;
using detail::Panel;
using detail::kQ8Block;
using detail::Q8Acts;

// quantize_row_q8_0 (ggml-cpu, x86): one row of x into nb blocks of xu (+128) and dx.
void quantize_row(const float* x, int64_t nb, uint8_t* xu, float* dx) {
  for (int64_t b = 0; b < nb; ++b, xu += kQ8Block) {
    const float* v = x + b * kQ8Block;
    float amax = 0.0f;
    for (int t = 0; t < kQ8Block; ++t) amax = std::max(amax, std::fabs(v[t]));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int t = 0; t < kQ8Block; ++t) xu[t] = static_cast<uint8_t>(static_cast<int>(std::nearbyint(v[t] * id)) + 128);
    dx[b] = f16_to_float(float_to_f16(amax / 127.0f));
  }
}

// One block of W as 32 int8 values and its scale (value = w · sw, exactly as the block decodes).
template <Type T>
float unpack_block(const uint8_t* b, int8_t* w);

template <>
float unpack_block<Type::Q8_0>(const uint8_t* b, int8_t* w) {
  std::memcpy(w, b + 2, 32);
  return half_at(b);
}

template <>
float unpack_block<Type::Q4_0>(const uint8_t* b, int8_t* w) {
  for (int j = 0; j < 16; ++j) {
    w[j] = static_cast<int8_t>((b[2 + j] & 0x0F) - 8);
    w[j + 16] = static_cast<int8_t>((b[2 + j] >> 4) - 8);
  }
  return half_at(b);
}

template <>
float unpack_block<Type::Q5_0>(const uint8_t* b, int8_t* w) {
  const uint32_t qh = high_bits(b + 2);
  for (int j = 0; j < 16; ++j) {
    const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
    w[j] = static_cast<int8_t>(((b[6 + j] & 0x0F) | h0) - 16);
    w[j + 16] = static_cast<int8_t>(((b[6 + j] >> 4) | h1) - 16);
  }
  return half_at(b);
}

// Rows [j0, j0 + n) of W (n ≤ 16) as a panel (int8_dot.h).
template <Type T>
void pack_panel(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw) {
  const int64_t nb = wt.cols / kQ8Block, bytes = Block<T>::kBytes;
  alignas(64) int8_t v[kQ8Block];
  for (int64_t r = 0; r < kPanelRows; ++r) {
    const uint8_t* row = r < n ? wt.data + (j0 + r) * wt.row_bytes() : nullptr;
    for (int64_t b = 0; b < nb; ++b) {
      float scale = 0.0f;
      if (r < n)
        scale = unpack_block<T>(row + b * bytes, v);
      else
        std::memset(v, 0, kQ8Block);
      int32_t sum = 0;
      for (int g = 0; g < kQ8Block / 4; ++g)
        for (int t = 0; t < 4; ++t) {
          w[b * kQ8Block * kPanelRows + g * 4 * kPanelRows + r * 4 + t] = v[4 * g + t];
          sum += v[4 * g + t];
        }
      nws[b * kPanelRows + r] = -128 * sum;
      sw[b * kPanelRows + r] = scale;
    }
  }
}

void pack(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw) {
  switch (wt.type) {
    case Type::Q8_0: return pack_panel<Type::Q8_0>(wt, j0, n, w, nws, sw);
    case Type::Q4_0: return pack_panel<Type::Q4_0>(wt, j0, n, w, nws, sw);
    default: return pack_panel<Type::Q5_0>(wt, j0, n, w, nws, sw);
  }
}

// The reference arithmetic (int8_dot.h), one output at a time.
void int_dot_reference(const Q8Acts& x, int64_t m, const Panel& p, int rows, float* y, int64_t ldy) {
  const int64_t nb = x.nb;
  for (int64_t i = 0; i < m; ++i)
    for (int r = 0; r < rows; ++r) {
      const uint8_t* xr = x.xu + i * nb * kQ8Block;
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t s = p.nws[b * kPanelRows + r];
        for (int k = 0; k < kQ8Block; ++k)
          s += static_cast<int32_t>(xr[b * kQ8Block + k]) * p.w[b * kQ8Block * kPanelRows + (k / 4) * 4 * kPanelRows + r * 4 + k % 4];
        acc = std::fma(p.sw[b * kPanelRows + r] * x.dx[i * nb + b], static_cast<float>(s), acc);
      }
      y[i * ldy + r] = acc;
    }
}

detail::IntDot int_dot_for_cpu() {
#if PEFTJS_X86
  static const detail::IntDot best = [] {
    if (simd_level() == Simd::Avx512 && __builtin_cpu_supports("avx512vnni")) return detail::int_dot_avx512_vnni();
    if (simd_level() >= Simd::Avx2) return detail::int_dot_avx2();
    return detail::int_dot_portable();
  }();
  return best;
#else
  return detail::int_dot_portable();
#endif
}

}  // namespace

namespace detail {
IntDot int_dot_portable() { return int_dot_reference; }
}  // namespace detail

bool has_int8_dot(Type t) {
  // Off in the WebAssembly build: its portable kernel's fused multiply-adds are software there.
  return PEFTJS_X86 && (t == Type::Q4_0 || t == Type::Q5_0 || t == Type::Q8_0);
}

void linear_int8(const float* x, int64_t M, const Weight& wt, const float* bias, float* y) {
  const int64_t K = wt.cols, N = wt.rows, nb = K / kQ8Block;
  std::vector<uint8_t> xu(static_cast<size_t>(M * K));
  std::vector<float> dx(static_cast<size_t>(M * nb));
  parallel_range(M, std::max<int64_t>(1, 4096 / K), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) quantize_row(x + i * K, nb, xu.data() + i * K, dx.data() + i * nb);
  });
  const Q8Acts acts{nb, xu.data(), dx.data()};
  const detail::IntDot dot = int_dot_for_cpu();
  parallel_range((N + kPanelRows - 1) / kPanelRows, 1, [&](int64_t p0, int64_t p1) {
    thread_local ThreadScratch scratch;
    const size_t wbytes = static_cast<size_t>(K * kPanelRows), sums = static_cast<size_t>(nb * kPanelRows * 4);
    auto* base = static_cast<uint8_t*>(scratch.reserve(wbytes + 2 * sums));
    auto* w = reinterpret_cast<int8_t*>(base);
    auto* nws = reinterpret_cast<int32_t*>(base + wbytes);
    auto* sw = reinterpret_cast<float*>(base + wbytes + sums);
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t j = p * kPanelRows, n = std::min<int64_t>(kPanelRows, N - j);
      pack(wt, j, n, w, nws, sw);
      dot(acts, M, detail::Panel{nb, w, nws, sw}, static_cast<int>(n), y + j, N);
    }
  });
  if (bias)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) y[i * N + j] += bias[j];
}

}  // namespace peftjs::ggml
