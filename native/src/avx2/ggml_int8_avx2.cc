// AVX2 kernel of the integer path over ggml blocks (native/src/ggml/int8_dot.h): each half of a panel
// (8 rows in the lanes); per block and row of x, 8 times vpmaddubsw of the 4 broadcast activation bytes
// by the panel's weights, and vpmaddwd into the 8 lanes (see tile for the two ways). Up to 4 rows of x
// at a time.
#include <immintrin.h>

#include <cstring>

#include "ggml/int8_dot.h"

namespace peftjs::ggml::detail {
namespace {

// Groups > 0: weights narrow enough (Panel::i16_groups) to multiply the unsigned xu (x + 128) as they are,
// vpmaddubsw(xu, w), summed over Groups groups in 16 bits before one vpmaddwd, then -128 · Σw (the
// panel's nws) added: the same integer as the signed product, in 3 instructions per group instead of 6.
// Groups == 0 (Q8_0): signs moved onto x as ggml's mul_sum_i8_pairs does (|w| <= 127 times 255 would
// overflow a pair).
template <int MI, int Groups>
void tile(const Q8Acts& x, int64_t i0, const Panel& p, int half, int rows, float* y, int64_t ldy) {
  const int64_t nb = x.nb, K = nb * kQ8Block;
  const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[MI];
  for (int i = 0; i < MI; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* wb = p.w + b * kQ8Block * kPanelRows + half * 32;
    __m256i wv[8], aw[8];
    for (int g = 0; g < 8; ++g) {
      wv[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + g * 64));
      if constexpr (Groups == 0) aw[g] = _mm256_sign_epi8(wv[g], wv[g]);
    }
    const __m256 sw = _mm256_loadu_ps(p.sw + b * kPanelRows + half * 8);
    for (int i = 0; i < MI; ++i) {
      const uint8_t* xb = x.xu + (i0 + i) * K + b * kQ8Block;
      __m256i sx;
      if constexpr (Groups > 0) {
        sx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.nws + b * kPanelRows + half * 8));
        __m256i pairs = _mm256_setzero_si256();
        for (int g = 0; g < 8; ++g) {
          int32_t four;
          std::memcpy(&four, xb + 4 * g, 4);
          const __m256i prod = _mm256_maddubs_epi16(_mm256_set1_epi32(four), wv[g]);
          pairs = g % Groups == 0 ? prod : _mm256_add_epi16(pairs, prod);
          if (g % Groups == Groups - 1) sx = _mm256_add_epi32(sx, _mm256_madd_epi16(pairs, ones));
        }
      } else {
        sx = _mm256_setzero_si256();
        for (int g = 0; g < 8; ++g) {
          int32_t four;
          std::memcpy(&four, xb + 4 * g, 4);
          // xu is x + 128: flipping the top bit gives x as int8.
          const __m256i xs = _mm256_xor_si256(_mm256_set1_epi32(four), flip);
          sx = _mm256_add_epi32(sx, _mm256_madd_epi16(_mm256_maddubs_epi16(aw[g], _mm256_sign_epi8(xs, wv[g])), ones));
        }
      }
      const __m256 dx = _mm256_set1_ps(x.dx[(i0 + i) * nb + b]);
      acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(sw, dx), _mm256_cvtepi32_ps(sx), acc[i]);
      if (p.mw) {  // Q4_K: acc - (mw · dx) · Σx, fused as the reference's fma(-(mw · dx), Σx, acc)
        const __m256 xs = _mm256_set1_ps(static_cast<float>(x.xsum[(i0 + i) * nb + b]));
        acc[i] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(p.mw + b * kPanelRows + half * 8), dx), xs, acc[i]);
      }
    }
  }
  alignas(32) float out[8];
  for (int i = 0; i < MI; ++i) {
    _mm256_store_ps(out, acc[i]);
    std::memcpy(y + (i0 + i) * ldy + half * 8, out, sizeof(float) * static_cast<size_t>(rows));
  }
}

template <int MI, int Groups>
void halves(const Q8Acts& x, int64_t i0, const Panel& p, int rows, float* y, int64_t ldy) {
  tile<MI, Groups>(x, i0, p, 0, rows < 8 ? rows : 8, y, ldy);
  if (rows > 8) tile<MI, Groups>(x, i0, p, 1, rows - 8, y, ldy);
}

template <int MI>
void tile_panel(const Q8Acts& x, int64_t i0, const Panel& p, int rows, float* y, int64_t ldy) {
  switch (p.i16_groups) {
    case 8: return halves<MI, 8>(x, i0, p, rows, y, ldy);
    case 4: return halves<MI, 4>(x, i0, p, rows, y, ldy);
    default: return halves<MI, 0>(x, i0, p, rows, y, ldy);
  }
}

void int_dot(const Q8Acts& x, int64_t m, const Panel& p, int rows, float* y, int64_t ldy) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) tile_panel<4>(x, i, p, rows, y, ldy);
  switch (m - i) {
    case 3: return tile_panel<3>(x, i, p, rows, y, ldy);
    case 2: return tile_panel<2>(x, i, p, rows, y, ldy);
    case 1: return tile_panel<1>(x, i, p, rows, y, ldy);
    default: return;
  }
}

}  // namespace

IntDot int_dot_avx2() { return int_dot; }

}  // namespace peftjs::ggml::detail

// The few-row kernel (native/src/ggml/int8_gemv_impl.h) with vpmaddubsw / vpmaddwd.
#include "ggml/int8_gemv_impl.h"

namespace peftjs::ggml::detail {
namespace {

struct Avx2Dot {
  static __m256i dot_u(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
  static __m256i dot_s(__m256i w, __m256i s) { return dot_u(_mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w)); }
};

}  // namespace

GemvInt gemv_int_avx2(Type t) { return gemv_int_for<Avx2Dot>(t); }

}  // namespace peftjs::ggml::detail
