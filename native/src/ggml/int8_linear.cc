// The integer path of the linear layer over Q4_0 / Q5_0 / Q8_0 weights (int8_dot.h): activations
// quantised to Q8_0 blocks once per call, then per task a few rows of W unpacked to int8 and multiplied
// into every row of x by the kernel of this CPU. The portable kernel here is the reference arithmetic.
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

using detail::I8Weights;
using detail::kQ8Block;
using detail::Q8Acts;

constexpr int64_t kUnpackRows = 16;  // rows of W unpacked at a time (≤ 16 · cols bytes, in L1 / L2)

int64_t padded_blocks(int64_t cols) {
  const int64_t nb = cols / kQ8Block;
  return nb + (nb & 1);
}

// quantize_row_q8_0 (ggml-cpu, x86): one row of x into nbp blocks of xu (+128) and dx.
void quantize_row(const float* x, int64_t cols, int64_t nbp, uint8_t* xu, float* dx) {
  const int64_t nb = cols / kQ8Block;
  for (int64_t b = 0; b < nbp; ++b, xu += kQ8Block) {
    if (b >= nb) {
      std::memset(xu, 128, kQ8Block);
      dx[b] = 0.0f;
      continue;
    }
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

template <Type T>
void unpack_rows(const Weight& wt, int64_t j0, int64_t n, int64_t nbp, int8_t* w, int32_t* nws, float* sw) {
  const int64_t nb = wt.cols / kQ8Block, bytes = Block<T>::kBytes;
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* row = wt.data + (j0 + r) * wt.row_bytes();
    for (int64_t b = 0; b < nbp; ++b) {
      int8_t* wb = w + (r * nbp + b) * kQ8Block;
      if (b < nb) {
        sw[r * nbp + b] = unpack_block<T>(row + b * bytes, wb);
      } else {
        std::memset(wb, 0, kQ8Block);
        sw[r * nbp + b] = 0.0f;
      }
      for (int l = 0; l < 8; ++l)
        nws[(r * nbp + b) * 8 + l] = -128 * (wb[4 * l] + wb[4 * l + 1] + wb[4 * l + 2] + wb[4 * l + 3]);
    }
  }
}

void unpack(const Weight& wt, int64_t j0, int64_t n, int64_t nbp, int8_t* w, int32_t* nws, float* sw) {
  switch (wt.type) {
    case Type::Q8_0: return unpack_rows<Type::Q8_0>(wt, j0, n, nbp, w, nws, sw);
    case Type::Q4_0: return unpack_rows<Type::Q4_0>(wt, j0, n, nbp, w, nws, sw);
    default: return unpack_rows<Type::Q5_0>(wt, j0, n, nbp, w, nws, sw);
  }
}

// The reference arithmetic (int8_dot.h), one output at a time.
void int_dot_reference(const Q8Acts& x, int64_t m, const I8Weights& w, int64_t n, float* y, int64_t ldy) {
  const int64_t nbp = x.nbp, stride = nbp * kQ8Block;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const uint8_t* xr = x.xu + i * stride;
      const int8_t* wr = w.w + j * stride;
      float acc[16] = {};
      for (int64_t b = 0; b < nbp; ++b) {
        const float d = w.sw[j * nbp + b] * x.dx[i * nbp + b];
        float* lanes = acc + 8 * (b & 1);
        for (int l = 0; l < 8; ++l) {
          int32_t s = w.nws[(j * nbp + b) * 8 + l];
          for (int t = 0; t < 4; ++t) {
            const int64_t k = b * kQ8Block + 4 * l + t;
            s += static_cast<int32_t>(xr[k]) * wr[k];
          }
          lanes[l] = std::fma(d, static_cast<float>(s), lanes[l]);
        }
      }
      y[i * ldy + j] = detail::lane_tree(acc);
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
  const int64_t K = wt.cols, N = wt.rows, nbp = padded_blocks(K), stride = nbp * kQ8Block;
  std::vector<uint8_t> xu(static_cast<size_t>(M * stride));
  std::vector<float> dx(static_cast<size_t>(M * nbp));
  parallel_range(M, std::max<int64_t>(1, 4096 / K), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) quantize_row(x + i * K, K, nbp, xu.data() + i * stride, dx.data() + i * nbp);
  });
  const Q8Acts acts{nbp, xu.data(), dx.data()};
  const detail::IntDot dot = int_dot_for_cpu();
  parallel_range(N, kUnpackRows, [&](int64_t j0, int64_t j1) {
    thread_local ThreadScratch scratch;
    const size_t wbytes = static_cast<size_t>(kUnpackRows * stride), nwsbytes = static_cast<size_t>(kUnpackRows * nbp * 8 * 4);
    auto* base = static_cast<uint8_t*>(scratch.reserve(wbytes + nwsbytes + static_cast<size_t>(kUnpackRows * nbp * 4)));
    auto* w = reinterpret_cast<int8_t*>(base);
    auto* nws = reinterpret_cast<int32_t*>(base + wbytes);
    auto* sw = reinterpret_cast<float*>(base + wbytes + nwsbytes);
    for (int64_t j = j0; j < j1; j += kUnpackRows) {
      const int64_t n = std::min(kUnpackRows, j1 - j);
      unpack(wt, j, n, nbp, w, nws, sw);
      dot(acts, M, I8Weights{nbp, w, nws, sw}, n, y + j, N);
    }
  });
  if (bias)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) y[i * N + j] += bias[j];
}

}  // namespace peftjs::ggml
