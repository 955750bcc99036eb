// AVX-512 VNNI kernel of the integer path over ggml blocks (native/src/ggml/int8_dot.h): the 16 rows of
// a panel in the lanes; per block and row of x, 8 vpdpbusd of 4 activation bytes (+128, unsigned,
// broadcast) by the panel's 4 bytes of each row, started from the -128 · Σw correction; up to 8 rows of
// x at a time share the panel's block in registers. Compiled for VNNI by a target attribute;
// int8_linear.cc calls it only where the CPU has VNNI.
#include <immintrin.h>

#include <cstring>

// GCC 12's AVX-512 headers initialise placeholders from themselves (`__m512 __Y = __Y;`), which the
// uninitialised-use warnings report once inlined here: false positives (as in ggml_avx512.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ggml/int8_dot.h"

namespace peftjs::ggml::detail {
namespace {

#define PEFTJS_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

template <int MI, bool kMins>
PEFTJS_VNNI void tile(const Q8Acts& x, int64_t i0, const Panel& p, int rows, float* y, int64_t ldy) {
  const int64_t nb = x.nb, K = nb * kQ8Block;
  __m512 acc[MI];
  for (int i = 0; i < MI; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* wb = p.w + b * kQ8Block * kPanelRows;
    __m512i wv[8];
    for (int g = 0; g < 8; ++g) wv[g] = _mm512_loadu_si512(wb + g * 64);
    const __m512i nws = _mm512_loadu_si512(p.nws + b * kPanelRows);
    const __m512 sw = _mm512_loadu_ps(p.sw + b * kPanelRows);
    for (int i = 0; i < MI; ++i) {
      const uint8_t* xb = x.xu + (i0 + i) * K + b * kQ8Block;
      // Two chains of four (vpdpbusd's latency would otherwise serialise the block): integer sums,
      // exact in any grouping.
      __m512i s2[2] = {nws, _mm512_setzero_si512()};
      for (int g = 0; g < 8; ++g) {
        int32_t four;
        std::memcpy(&four, xb + 4 * g, 4);
        s2[g % 2] = _mm512_dpbusd_epi32(s2[g % 2], _mm512_set1_epi32(four), wv[g]);
      }
      const __m512i s = _mm512_add_epi32(s2[0], s2[1]);
      const __m512 dx = _mm512_set1_ps(x.dx[(i0 + i) * nb + b]);
      acc[i] = _mm512_fmadd_ps(_mm512_mul_ps(sw, dx), _mm512_cvtepi32_ps(s), acc[i]);
      if constexpr (kMins) {  // Q4_K: acc - (mw · dx) · Σx, fused as the reference's fma(-(mw · dx), Σx, acc)
        const __m512 xs = _mm512_set1_ps(static_cast<float>(x.xsum[(i0 + i) * nb + b]));
        acc[i] = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_loadu_ps(p.mw + b * kPanelRows), dx), xs, acc[i]);
      }
    }
  }
  const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
  for (int i = 0; i < MI; ++i) _mm512_mask_storeu_ps(y + (i0 + i) * ldy, keep, acc[i]);
}

template <bool kMins>
PEFTJS_VNNI void int_dot_for(const Q8Acts& x, int64_t m, const Panel& p, int rows, float* y, int64_t ldy) {
  int64_t i = 0;
  for (; i + 8 <= m; i += 8) tile<8, kMins>(x, i, p, rows, y, ldy);
  switch (m - i) {
    case 7: return tile<7, kMins>(x, i, p, rows, y, ldy);
    case 6: return tile<6, kMins>(x, i, p, rows, y, ldy);
    case 5: return tile<5, kMins>(x, i, p, rows, y, ldy);
    case 4: return tile<4, kMins>(x, i, p, rows, y, ldy);
    case 3: return tile<3, kMins>(x, i, p, rows, y, ldy);
    case 2: return tile<2, kMins>(x, i, p, rows, y, ldy);
    case 1: return tile<1, kMins>(x, i, p, rows, y, ldy);
    default: return;
  }
}

PEFTJS_VNNI void int_dot(const Q8Acts& x, int64_t m, const Panel& p, int rows, float* y, int64_t ldy) {
  if (p.mw) return int_dot_for<true>(x, m, p, rows, y, ldy);
  int_dot_for<false>(x, m, p, rows, y, ldy);
}

}  // namespace

IntDot int_dot_avx512_vnni() { return int_dot; }

}  // namespace peftjs::ggml::detail

// The few-row kernel (native/src/ggml/int8_gemv_impl.h) with 256-bit vpdpbusd; its helpers are compiled
// for VNNI here (the headers they need are included above, outside the target region).
#include "ggml/blocks.h"
#include "quant/quant.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")
#include "ggml/int8_gemv_impl.h"

namespace peftjs::ggml::detail {
namespace {

struct VnniDot {
  static __m256i dot_u(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
  static __m256i dot_s(__m256i w, __m256i s) { return dot_u(_mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w)); }
};

}  // namespace

GemvInt gemv_int_avx512_vnni(Type t) { return gemv_int_for<VnniDot>(t); }

}  // namespace peftjs::ggml::detail
#pragma GCC pop_options
