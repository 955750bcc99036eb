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
#include "next_operand.h"
#include "thread_scratch.h"
#include "threadpool.h"

namespace peftjs::ggml {
namespace {

using detail::kPanelRows;
using detail::Panel;
using detail::kQ8Block;
using detail::Q8Acts;

constexpr int64_t kFewRows = 8;  // at most this many rows of x: the direct few-row kernels

void add_bias(int64_t M, int64_t N, const float* bias, float* y) {
  if (!bias) return;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) y[i * N + j] += bias[j];
}

// Round half to even (nearbyint in the default rounding mode) for |v| < 2^22: adding and subtracting
// 1.5 · 2^23 leaves v rounded to an integer. Inline, where this translation unit's nearbyint is a call.
inline float round_even(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

// quantize_row_q8_0 (ggml-cpu, x86): one row of x into nb blocks of xu (+128) and dx, and per block the
// sum of its codes into xsum unless null. The reference arithmetic; quantize_row picks the AVX2 copy.
void quantize_row_reference(const float* x, int64_t nb, uint8_t* xu, float* dx, int32_t* xsum) {
  for (int64_t b = 0; b < nb; ++b, xu += kQ8Block) {
    const float* v = x + b * kQ8Block;
    float amax = 0.0f;
    for (int t = 0; t < kQ8Block; ++t) amax = std::max(amax, std::fabs(v[t]));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int t = 0; t < kQ8Block; ++t) xu[t] = static_cast<uint8_t>(static_cast<int>(round_even(v[t] * id)) + 128);
    dx[b] = f16_to_float(float_to_f16(amax / 127.0f));
    if (xsum) {
      int32_t s = 0;
      for (int t = 0; t < kQ8Block; ++t) s += xu[t] - 128;
      xsum[b] = s;
    }
  }
}

void quantize_row(const float* x, int64_t nb, uint8_t* xu, float* dx, int32_t* xsum) {
#if PEFTJS_X86
  if (simd_level() >= Simd::Avx2) return detail::quantize_q8_avx2(x, nb, xu, dx, xsum);
#endif
  quantize_row_reference(x, nb, xu, dx, xsum);
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

// Block b of panel row r: its 32 codes interleaved by groups of 4 bytes, -128 · their sum and its scale.
inline void store_block(const int8_t* v, int64_t b, int64_t r, float scale, int8_t* w, int32_t* nws, float* sw) {
  int32_t sum = 0;
  for (int k = 0; k < kQ8Block; ++k) sum += v[k];
  // Whole groups of 4 bytes (one 32-bit move each: the pack is a large part of a prompt's time).
  for (int g = 0; g < kQ8Block / 4; ++g) std::memcpy(w + b * kQ8Block * kPanelRows + g * 4 * kPanelRows + r * 4, v + 4 * g, 4);
  nws[b * kPanelRows + r] = -128 * sum;
  sw[b * kPanelRows + r] = scale;
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
      store_block(v, b, r, scale, w, nws, sw);
    }
  }
}

// Rows of Q4_K as a panel: per sub-block of 32 its nibbles, sw = d · scale and mw = dmin · min.
void pack_q4k(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw, float* mw) {
  const int64_t nb = wt.cols / kQ8Block;
  alignas(64) int8_t v[kQ8Block];
  for (int64_t r = 0; r < kPanelRows; ++r) {
    const uint8_t* row = r < n ? wt.data + (j0 + r) * wt.row_bytes() : nullptr;
    for (int64_t b = 0; b < nb; ++b) {
      float scale = 0.0f, min = 0.0f;
      if (r < n) {
        const uint8_t* blk = row + (b / 8) * Block<Type::Q4_K>::kBytes;
        const int sub = static_cast<int>(b % 8);
        uint8_t sc, mn;
        scale_min_k4(sub, blk + 4, &sc, &mn);
        scale = half_at(blk) * sc;
        min = half_at(blk + 2) * mn;
        const uint8_t* qs = blk + 16 + 32 * (sub / 2);
        for (int l = 0; l < kQ8Block; ++l) v[l] = static_cast<int8_t>((qs[l] >> (4 * (sub % 2))) & 0xF);
      } else {
        std::memset(v, 0, kQ8Block);
      }
      store_block(v, b, r, scale, w, nws, sw);
      mw[b * kPanelRows + r] = min;
    }
  }
}

void pack(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw, float* mw) {
#if PEFTJS_X86
  if (simd_level() >= Simd::Avx2) return detail::pack_panel_avx2(wt, j0, n, w, nws, sw, mw);
#endif
  switch (wt.type) {
    case Type::Q4_K: return pack_q4k(wt, j0, n, w, nws, sw, mw);
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
        if (p.mw) acc = std::fma(-(p.mw[b * kPanelRows + r] * x.dx[i * nb + b]), static_cast<float>(x.xsum[i * nb + b]), acc);
      }
      y[i * ldy + r] = acc;
    }
}

// The few-row reference arithmetic (int8_dot.h), from the blocks' dequantised int8 values.
template <Type T>
void gemv_int_reference(int64_t m, const detail::Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t nb = x.nb, K = nb * kQ8Block;
  alignas(64) int8_t v[kQ8Block];
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.data + j * w.row_bytes();
    for (int64_t i = 0; i < m; ++i) {
      float acc[8] = {};
      for (int64_t b = 0; b < nb; ++b) {
        const float d = unpack_block<T>(row + b * Block<T>::kBytes, v) * x.dx[i * nb + b];
        for (int l = 0; l < 8; ++l) {
          int32_t s = 0;
          for (int t = 0; t < 4; ++t) s += v[4 * l + t] * static_cast<int32_t>(x.xs[i * K + b * kQ8Block + 4 * l + t]);
          acc[l] = std::fma(d, static_cast<float>(s), acc[l]);
        }
      }
      float s4[4];
      for (int l = 0; l < 4; ++l) s4[l] = acc[l] + acc[l + 4];
      y[i * ldy + j] = (s4[0] + s4[2]) + (s4[1] + s4[3]);
    }
  }
}

// Q4_K's few-row reference (int8_gemv_impl.h's gemv_q4k_rows).
void gemv_q4k_reference(int64_t m, const detail::Q8Few& x, const Weight& w, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t nb = x.nb, K = nb * kQ8Block;
  for (int64_t j = j0; j < j1; ++j)
    for (int64_t i = 0; i < m; ++i) {
      float acc[8] = {};
      for (int64_t sb = 0; sb < nb / 8; ++sb) {
        const uint8_t* blk = w.data + j * w.row_bytes() + sb * Block<Type::Q4_K>::kBytes;
        const float d = half_at(blk), dmin = half_at(blk + 2);
        for (int sub = 0; sub < 8; ++sub) {
          uint8_t sc, mn;
          scale_min_k4(sub, blk + 4, &sc, &mn);
          const float d1 = d * sc, m1 = dmin * mn;
          const int64_t b = sb * 8 + sub;
          const float dx = x.dx[i * nb + b];
          const uint8_t* qs = blk + 16 + 32 * (sub / 2);
          const int shift = 4 * (sub % 2);
          for (int l = 0; l < 8; ++l) {
            int32_t s = 0;
            for (int t = 0; t < 4; ++t) s += ((qs[4 * l + t] >> shift) & 0xF) * static_cast<int32_t>(x.xs[i * K + b * kQ8Block + 4 * l + t]);
            acc[l] = std::fma(d1 * dx, static_cast<float>(s), acc[l]);
            acc[l] = std::fma(-(m1 * dx), static_cast<float>(x.xsum[(i * nb + b) * 8 + l]), acc[l]);
          }
        }
      }
      float s4[4];
      for (int l = 0; l < 4; ++l) s4[l] = acc[l] + acc[l + 4];
      y[i * ldy + j] = (s4[0] + s4[2]) + (s4[1] + s4[3]);
    }
}

detail::GemvInt gemv_int_for_cpu(Type t) {
#if PEFTJS_X86
  if (simd_level() == Simd::Avx512 && __builtin_cpu_supports("avx512vnni")) return detail::gemv_int_avx512_vnni(t);
  if (simd_level() >= Simd::Avx2) return detail::gemv_int_avx2(t);
#endif
  return detail::gemv_int_portable(t);
}

// Few rows: x [M, K] quantised as signed int8 rows with their lane sums, into this thread's scratch.
detail::Q8Few quantize_few(const float* x, int64_t M, int64_t K) {
  const int64_t nb = K / kQ8Block;
  thread_local ThreadScratch scratch;
  const size_t xbytes = static_cast<size_t>(M * K), sums = static_cast<size_t>(M * nb * 8 * 4);
  auto* base = static_cast<uint8_t*>(scratch.reserve(xbytes + sums + static_cast<size_t>(M * nb * 4)));
  auto* xs = reinterpret_cast<int8_t*>(base);
  auto* xsum = reinterpret_cast<int32_t*>(base + xbytes);
  auto* dx = reinterpret_cast<float*>(base + xbytes + sums);
  for (int64_t i = 0; i < M; ++i) {
    uint8_t* xu = reinterpret_cast<uint8_t*>(xs + i * K);
    quantize_row(x + i * K, nb, xu, dx + i * nb, nullptr);
    for (int64_t k = 0; k < K; ++k) xs[i * K + k] = static_cast<int8_t>(xu[k] - 128);
    for (int64_t g = 0; g < K / 4; ++g)
      xsum[i * nb * 8 + g] = xs[i * K + 4 * g] + xs[i * K + 4 * g + 1] + xs[i * K + 4 * g + 2] + xs[i * K + 4 * g + 3];
  }
  return detail::Q8Few{nb, xs, xsum, dx};
}

// Rows of W per task of the few-row kernels: ~32 KB of blocks, so that the tasks of one or several
// weights spread evenly over the threads.
int64_t few_rows_per_task(const Weight& w) { return std::max<int64_t>(1, (int64_t{1} << 15) / w.row_bytes()); }

// Decoding streams every weight from memory once per token, in the same order each time, with the
// step's other operations in between: after a few-row product the weight that followed it last time
// goes to the idle workers to prefetch meanwhile (as gemm.cc does for float weights). Per calling thread.
constexpr int64_t kPrefetchBytes = 8 << 20;
thread_local NextOperand next_weight;

void note_weight(const Weight& w) { next_weight.note(w.data, w.rows * w.row_bytes()); }

void prefetch_after(const Weight& w) {
  const NextOperand::Next next = next_weight.after(w.data);
  if (next.b != nullptr) prefetch_async(next.b, std::min(next.bytes, kPrefetchBytes));
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
int i16_groups(Type t) {
  switch (t) {
    case Type::Q4_0: return 8;
    case Type::Q5_0:
    case Type::Q4_K: return 4;
    default: return 0;
  }
}

IntDot int_dot_portable() { return int_dot_reference; }
GemvInt gemv_int_portable(Type t) {
  switch (t) {
    case Type::Q4_0: return gemv_int_reference<Type::Q4_0>;
    case Type::Q5_0: return gemv_int_reference<Type::Q5_0>;
    case Type::Q4_K: return gemv_q4k_reference;
    default: return gemv_int_reference<Type::Q8_0>;
  }
}
}  // namespace detail

bool has_int8_dot(Type t) {
  // Off in the WebAssembly build: its portable kernel's fused multiply-adds are software there.
  return PEFTJS_X86 && (t == Type::Q4_0 || t == Type::Q5_0 || t == Type::Q8_0 || t == Type::Q4_K);
}

namespace {

// Rows [j, j + n) of W into the cache (packing reads them: 16 rows a few hundred bytes long each, which
// the hardware prefetcher does not follow; the loads of their blocks were half of a panel's packing).
void prefetch_rows(const Weight& wt, int64_t j, int64_t n) {
  const int64_t bytes = wt.row_bytes();
  for (int64_t r = j; r < j + n; ++r)
    for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(wt.data + r * bytes + off);
}

// Many rows: x [M, K] as Q8_0 blocks, once per call (q/k/v or gate/up share it).
struct PromptActs {
  int64_t nb;
  std::vector<uint8_t> xu;
  std::vector<float> dx;
  std::vector<int32_t> xsum;
  Q8Acts view() const { return Q8Acts{nb, xu.data(), dx.data(), xsum.data()}; }
};

PromptActs quantize_prompt(const float* x, int64_t M, int64_t K) {
  const int64_t nb = K / kQ8Block;
  PromptActs q{nb, std::vector<uint8_t>(static_cast<size_t>(M * K)), std::vector<float>(static_cast<size_t>(M * nb)),
               std::vector<int32_t>(static_cast<size_t>(M * nb))};
  parallel_range(M, std::max<int64_t>(1, 4096 / K), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      quantize_row(x + i * K, nb, q.xu.data() + i * K, q.dx.data() + i * nb, q.xsum.data() + i * nb);
  });
  return q;
}

// ys[w] = x·ws[w]ᵀ (+ biases[w]) for M > kFewRows from x's blocks: the panels of 16 rows of every
// weight shared among the threads as one range, each packed into this thread's scratch and multiplied
// into every row of x.
void prompt_products(const Q8Acts& acts, int64_t M, const Weight* ws, const float* const* biases, float* const* ys, int count) {
  const int64_t K = ws[0].cols, nb = acts.nb;
  std::vector<int64_t> first(static_cast<size_t>(count) + 1, 0);  // weight w's panels: [first[w], first[w + 1])
  for (int w = 0; w < count; ++w) first[w + 1] = first[w] + (ws[w].rows + kPanelRows - 1) / kPanelRows;
  const detail::IntDot dot = int_dot_for_cpu();
  parallel_range(first[count], 1, [&](int64_t p0, int64_t p1) {
    thread_local ThreadScratch scratch;
    const size_t wbytes = static_cast<size_t>(K * kPanelRows), sums = static_cast<size_t>(nb * kPanelRows * 4);
    auto* base = static_cast<uint8_t*>(scratch.reserve(wbytes + 3 * sums));
    auto* w = reinterpret_cast<int8_t*>(base);
    auto* nws = reinterpret_cast<int32_t*>(base + wbytes);
    auto* sw = reinterpret_cast<float*>(base + wbytes + sums);
    auto* mw = reinterpret_cast<float*>(base + wbytes + 2 * sums);
    // Panel p's weight and its first row.
    auto locate = [&](int64_t p, int& wi) {
      while (p >= first[wi + 1]) ++wi;
      return (p - first[wi]) * kPanelRows;
    };
    int wi = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t j = locate(p, wi);
      const Weight& wt = ws[wi];
      const int64_t N = wt.rows, n = std::min<int64_t>(kPanelRows, N - j);
      pack(wt, j, n, w, nws, sw, mw);
      if (p + 1 < p1) {  // the next panel's blocks come from memory while this one is multiplied
        int next_w = wi;
        const int64_t next_j = locate(p + 1, next_w);
        prefetch_rows(ws[next_w], next_j, std::min<int64_t>(kPanelRows, ws[next_w].rows - next_j));
      }
      const bool mins = wt.type == Type::Q4_K;
      dot(acts, M, detail::Panel{nb, w, nws, sw, mins ? mw : nullptr, detail::i16_groups(wt.type)}, static_cast<int>(n),
          ys[wi] + j, N);
    }
  });
  for (int w = 0; w < count; ++w) add_bias(M, ws[w].rows, biases[w], ys[w]);
}

}  // namespace

void linear_int8(const float* x, int64_t M, const Weight& wt, const float* bias, float* y) {
  linear_int8_many(x, M, &wt, &bias, &y, 1);
}

void linear_int8_many(const float* x, int64_t M, const Weight* ws, const float* const* biases, float* const* ys, int count) {
  if (M > kFewRows) {
    const PromptActs q = quantize_prompt(x, M, ws[0].cols);
    return prompt_products(q.view(), M, ws, biases, ys, count);
  }
  const detail::Q8Few q = quantize_few(x, M, ws[0].cols);
  struct Task {
    int w;
    int64_t j0, j1;
  };
  std::vector<Task> tasks;
  std::vector<detail::GemvInt> gemv(static_cast<size_t>(count));
  for (int w = 0; w < count; ++w) {
    note_weight(ws[w]);
    gemv[static_cast<size_t>(w)] = gemv_int_for_cpu(ws[w].type);
    const int64_t per = few_rows_per_task(ws[w]);
    for (int64_t j = 0; j < ws[w].rows; j += per) tasks.push_back({w, j, std::min(ws[w].rows, j + per)});
  }
  parallel_for(static_cast<int64_t>(tasks.size()), [&](int64_t t) {
    const Task& k = tasks[static_cast<size_t>(t)];
    gemv[static_cast<size_t>(k.w)](M, q, ws[k.w], k.j0, k.j1, ys[k.w], ws[k.w].rows);
  });
  prefetch_after(ws[count - 1]);
  for (int w = 0; w < count; ++w) add_bias(M, ws[w].rows, biases[w], ys[w]);
}

}  // namespace peftjs::ggml
