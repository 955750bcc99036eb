// The few-row 4-bit product for a bf16 compute dtype (x already rounded to bf16) on AVX2.
//
// Numerics, as the AVX512_BF16 kernel (avx512/quant_bf16_avx512.cc): each 4-bit code value is rounded
// to bf16 (relative error <= 2^-9), the products x * code are exact in float32 (8-bit by 8-bit
// significands) and summed in float32, and each span's per-lane sums are multiplied by the float32 block
// scales. Each row's sum runs in the same order whatever M (a served row's bits do not depend on its
// neighbours).
//
// Why. The float32 kernel (quant_avx2.cc) looks a code up in four byte planes and interleaves them with
// two rounds of unpacks: 24 shuffles per 64 weights, which bound it on Zen 3 (both shuffle pipes busy,
// about 6 GB/s of 4-bit data per core, below the memory's share of a core). A bf16 code is two bytes:
// two vpshufb and two byte unpacks per 32 nibbles give 16-bit words, and a 32-bit lane holding two words
// [a | b] is the float32 of b after an AND with 0xffff0000 and that of a after a shift left by 16, so
// 8 shuffles per 64 weights. With one or two rows of x the decoded codes stay in registers (the float32
// kernel stores them to an L1 buffer and loads them back for every row); more rows use the buffer.
//
// Layout. Of a span's 32 bytes, unpack u (0: vpunpcklbw, 1: vpunpckhbw) of nibble half h (0: high
// nibbles, the even elements; 1: low, odd) puts in float32 lane l the word of byte 16 (l / 4) + 8 u +
// 2 (l % 4) + o, where o = 0 is the shifted (low) word and o = 1 the masked (high) one. Code vector
// q = 4 h + 2 u + o, lane l holds element 2 span_byte(q, l) + h; x is laid out in that order once per
// call (layout_x_bf16). Lanes 0-3 hold bytes 0-15 and lanes 4-7 bytes 16-31, as in the float32 kernel,
// so a span's block scales are its own. Needs K % 64 == 0 (no tail; the driver asks for K % 128).
#include <immintrin.h>

#include <algorithm>

#include "avx2/block_scales.h"
#include "avx2/lanes.h"
#include "elementwise/half.h"
#include "quant/quant.h"

namespace peftjs::quant::detail {
namespace {

constexpr int kSpan = 64;
constexpr int kRegisterRows = 2;  // up to this many rows of x the decoded codes stay in registers

constexpr int span_byte(int q, int l) { return 16 * (l / 4) + 8 * (q / 2 % 2) + 2 * (l % 4) + q % 2; }

// The 16 code values rounded to bf16, split into their low and high bytes (each plane's 16 bytes
// repeated in both 128-bit lanes, as vpshufb looks up within a lane).
struct CodePlanes {
  __m256i low, high;
  explicit CodePlanes(const float* code) {
    alignas(32) uint8_t bytes[2][32];
    for (int c = 0; c < 16; ++c) {
      const uint16_t b = float_to_bf16(code[c]);
      bytes[0][c] = bytes[0][c + 16] = static_cast<uint8_t>(b);
      bytes[1][c] = bytes[1][c + 16] = static_cast<uint8_t>(b >> 8);
    }
    low = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes[0]));
    high = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes[1]));
  }
};

// Calls use(q, codes) for the span's eight code vectors q = 0..7 in increasing order.
template <typename Use>
inline void decode_span(__m256i v, const CodePlanes& code, Use&& use) {
  const __m256i low4 = _mm256_set1_epi8(15), high_word = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  for (int h = 0; h < 2; ++h) {
    const __m256i idx = h == 0 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), low4) : _mm256_and_si256(v, low4);
    const __m256i lo = _mm256_shuffle_epi8(code.low, idx), hi = _mm256_shuffle_epi8(code.high, idx);
    for (int u = 0; u < 2; ++u) {
      const __m256i words = u == 0 ? _mm256_unpacklo_epi8(lo, hi) : _mm256_unpackhi_epi8(lo, hi);
      use(4 * h + 2 * u, _mm256_castsi256_ps(_mm256_slli_epi32(words, 16)));
      use(4 * h + 2 * u + 1, _mm256_castsi256_ps(_mm256_and_si256(words, high_word)));
    }
  }
}

// M rows of x against rows [j0, j1) of W, one W row at a time; SB = the blocks a span covers (2 for
// blocks of 32, 1 from 64 up). Per span and row, the even code vectors' products go into one partial
// sum and the odd ones' into another; their total times the span's scales is added to the row's
// accumulator (the float32 kernel's order).
template <int M, int SB>
void gemv4_bf16_rows(const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t K = w.cols, spans = K / kSpan, nb = K / w.block;
  const int span_shift = __builtin_ctzll(static_cast<uint64_t>(std::max<int64_t>(w.block / kSpan, 1)));  // SB == 1
  const CodePlanes planes(w.code);
  BlockScales scales(w);
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.packed + j * K / 2;
    const int64_t b0 = j * nb;  // the row's first block
    __m256 acc[M];
    for (int i = 0; i < M; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t s = 0; s < spans; ++s) {
      _mm_prefetch(reinterpret_cast<const char*>(row + s * kSpan / 2 + 1024), _MM_HINT_T0);
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + s * kSpan / 2));
      const __m256 scale = span_scales<SB>(scales, b0, s, span_shift);
      const float* x = xp + s * M * kSpan;
      __m256 p[M][2];
      if constexpr (M <= kRegisterRows) {
        decode_span(v, planes, [&](int q, __m256 c) {
          for (int i = 0; i < M; ++i) {
            const __m256 xq = _mm256_loadu_ps(x + i * kSpan + 8 * q);
            p[i][q % 2] = q < 2 ? _mm256_mul_ps(xq, c) : _mm256_fmadd_ps(xq, c, p[i][q % 2]);
          }
        });
      } else {
        alignas(32) float f[kSpan];
        decode_span(v, planes, [&](int q, __m256 c) { _mm256_store_ps(f + 8 * q, c); });
        for (int i = 0; i < M; ++i) {
          const float* xi = x + i * kSpan;
          p[i][0] = _mm256_mul_ps(_mm256_loadu_ps(xi), _mm256_load_ps(f));
          p[i][1] = _mm256_mul_ps(_mm256_loadu_ps(xi + 8), _mm256_load_ps(f + 8));
          for (int q = 2; q < 8; q += 2) {
            p[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 8 * q), _mm256_load_ps(f + 8 * q), p[i][0]);
            p[i][1] = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 8 * q + 8), _mm256_load_ps(f + 8 * q + 8), p[i][1]);
          }
        }
      }
      for (int i = 0; i < M; ++i) acc[i] = _mm256_fmadd_ps(_mm256_add_ps(p[i][0], p[i][1]), scale, acc[i]);
    }
    for (int i = 0; i < M; ++i) y[i * ldy + j] = avx2::hsum(acc[i]);
  }
}

}  // namespace

void layout_x_bf16_avx2(const float* x, int64_t M, int64_t K, void* xp) {
  layout_spans<kSpan, 16>(x, M, K, static_cast<float*>(xp),
                          [](int o) { return 2 * span_byte(o / 8, o % 8) + o / 32; });
}

void gemv4_bf16_avx2(int64_t m, const Weight4& w, const void* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const auto* x = static_cast<const float*>(xp);
  with_rows(m, [&](auto M) {
    if (w.block == 32) return gemv4_bf16_rows<M(), 2>(w, x, j0, j1, y, ldy);
    gemv4_bf16_rows<M(), 1>(w, x, j0, j1, y, ldy);
  });
}

}  // namespace peftjs::quant::detail
