// The few-row 4-bit product for a bf16 compute dtype (x already rounded to bf16), with AVX512_BF16.
//
// Numerics. x is exact in bf16; each 4-bit code value is rounded to bf16 (relative error <= 2^-9), the
// products x * code are exact in float32 and summed in float32 (vdpbf16ps), and each 128-element span's
// per-lane sums are multiplied by the float32 block scales as in the float32 kernel (quant_avx512.cc).
// This is more precise than bitsandbytes' own bf16 gemv_4bit (kgemm_4bit_inference_naive), which rounds
// code * absmax to bf16 per weight, and the output of a bf16 compute dtype is rounded to bf16 anyway
// (2^-9). Exact float32 codes instead (split into two or three bf16 pieces) cost as many lookups and
// products as the float32 kernel and gained nothing on Zen 4; float32 compute dtypes keep that kernel.
//
// Why. On Zen 4 (512-bit ops double-pumped) the float32 kernel is bound by its vector ops: per 128
// weights 8 vpermps, 7 shifts and 8 FMAs. Here a 16-bit lane holds four nibbles: vpermw reads an
// index's low five bits, so with the 16 code values repeated to 32 entries it looks up a nibble with
// whatever bit lies above it, and per 128 weights that is 4 vpermw, 3 shifts and 4 vpdpbf16ps
// (each adds two products into a float32 lane), with x read as bf16 (half the bytes).
//
// Layout. Word w (of 32) of a span's 64 bytes holds elements 4w .. 4w + 3: bits 0-3 the low nibble of
// byte 2w (element 4w + 1), 4-7 element 4w, 8-11 element 4w + 3, 12-15 element 4w + 2, so shifting by
// 4t brings element 4w + (t ^ 1) down. x is laid out once per call in that order (layout_x_bf16), and
// float32 lane l sums words 2l and 2l + 1, elements 8l .. 8l + 7: the same lanes and block scales as
// the float32 kernel. Needs K % 128 == 0 (no 32-element tail).
#include <immintrin.h>

#include <algorithm>

// GCC 12's _mm512_reduce_add_ps initialises a placeholder from itself: a false positive (as in quant_avx512.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "avx512/block_scales.h"
#include "elementwise/half.h"
#include "quant/quant.h"

namespace peftjs::quant::detail {
namespace {

constexpr int kSpan = 128;

template <int M, int SB>
__attribute__((target("avx512bf16"))) void gemv4_bf16_rows(const Weight4& w, const uint16_t* xp, int64_t j0,
                                                           int64_t j1, float* y, int64_t ldy) {
  const int64_t K = w.cols, spans = K / kSpan, nb = K / w.block;
  const int span_shift = __builtin_ctzll(static_cast<uint64_t>(std::max<int64_t>(w.block / kSpan, 1)));  // SB == 1
  alignas(64) uint16_t table[32];
  for (int i = 0; i < 32; ++i) table[i] = float_to_bf16(w.code[i & 15]);
  const __m512i code = _mm512_load_si512(table);
  BlockScales scales(w);
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.packed + j * K / 2;
    const int64_t b0 = j * nb;
    __m512 acc[M];
    for (int i = 0; i < M; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t s = 0; s < spans; ++s) {
      _mm_prefetch(reinterpret_cast<const char*>(row + s * kSpan / 2 + 1024), _MM_HINT_T0);
      __m512i v = _mm512_loadu_si512(row + s * kSpan / 2);
      __asm__("" : "+v"(v));  // one load (see gemv4_rows)
      const __m512 scale = span_scales<SB>(scales, b0, s, span_shift);
      const uint16_t* x = xp + s * M * kSpan;
      __m512 p[M][2];
      for (int i = 0; i < M; ++i) p[i][0] = p[i][1] = _mm512_setzero_ps();
#define PEFTJS_NF4_STEP(t)                                                                                      \
  {                                                                                                             \
    const __m512bh c = (__m512bh)_mm512_permutexvar_epi16((t) ? _mm512_srli_epi16(v, 4 * (t)) : v, code);       \
    for (int i = 0; i < M; ++i)                                                                                 \
      p[i][(t) & 1] = _mm512_dpbf16_ps(p[i][(t) & 1], c, (__m512bh)_mm512_loadu_si512(x + i * kSpan + 32 * (t))); \
  }
      PEFTJS_NF4_STEP(0) PEFTJS_NF4_STEP(1) PEFTJS_NF4_STEP(2) PEFTJS_NF4_STEP(3)
#undef PEFTJS_NF4_STEP
      for (int i = 0; i < M; ++i) acc[i] = _mm512_fmadd_ps(_mm512_add_ps(p[i][0], p[i][1]), scale, acc[i]);
    }
    for (int i = 0; i < M; ++i) y[i * ldy + j] = _mm512_reduce_add_ps(acc[i]);
  }
}

}  // namespace

// Span by span, the M rows' pieces of a span adjacent: the kernel reaches them from one pointer at
// constant offsets (with a pointer per row, M = 8 ran out of registers and spilled).
void layout_x_bf16(const float* x, int64_t M, int64_t K, void* out) {
  auto* xp = static_cast<uint16_t*>(out);
  for (int64_t s = 0; s < K / kSpan; ++s)
    for (int64_t i = 0; i < M; ++i) {
      const float* in = x + i * K + s * kSpan;
      uint16_t* out = xp + (s * M + i) * kSpan;
      for (int t = 0; t < 4; ++t)
        for (int w = 0; w < 32; ++w) out[32 * t + w] = float_to_bf16(in[4 * w + (t ^ 1)]);
    }
}

void gemv4_bf16(int64_t m, const Weight4& w, const void* in, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const auto* xp = static_cast<const uint16_t*>(in);
  with_rows(m, [&](auto M) {
    if (w.block == 32) return gemv4_bf16_rows<M(), 4>(w, xp, j0, j1, y, ldy);
    if (w.block == 64) return gemv4_bf16_rows<M(), 2>(w, xp, j0, j1, y, ldy);
    gemv4_bf16_rows<M(), 1>(w, xp, j0, j1, y, ldy);
  });
}

bool has_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
}

}  // namespace peftjs::quant::detail
