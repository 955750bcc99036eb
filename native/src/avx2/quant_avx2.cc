// AVX2 quantised-weight kernels. Dequantising: a 4-bit group is 16 elements (8 bytes); the 16-value code
// lookup is two _mm256_permutevar8x32_ps (codes 0-7 and 8-15) blended on the index's bit 3. The few-row
// products look codes up with vpshufb over byte planes (see decode_span).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "avx2/block_scales.h"
#include "avx2/lanes.h"
#include "elementwise/half.h"
#include "quant/quant.h"

namespace peftjs::quant::detail {
namespace {

constexpr int kGroup = 16;

struct Code {
  __m256 low, high;  // code[0:8], code[8:16]
};

inline __m256 lookup(__m256i idx, const Code& c) {
  const __m256 a = _mm256_permutevar8x32_ps(c.low, idx), b = _mm256_permutevar8x32_ps(c.high, idx);
  return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

struct Nibbles {
  __m256 hi, lo;  // elements 0, 2, ..., 14 and 1, 3, ..., 15 of the group
};

inline Nibbles decode(const uint8_t* p, const Code& code, __m256 scale) {
  const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return {_mm256_mul_ps(lookup(_mm256_srli_epi32(b, 4), code), scale),
          _mm256_mul_ps(lookup(_mm256_and_si256(b, _mm256_set1_epi32(15)), code), scale)};
}

void dequant4(const Weight4& w, int64_t e0, int64_t count, float* out) {
  int64_t i = 0;
  auto scalar_to = [&](int64_t end) {
    for (; i < end; ++i) out[i] = w.code[w.nibble(e0 + i)] * w.scale((e0 + i) / w.block);
  };
  scalar_to(std::min(count, (kGroup - e0 % kGroup) % kGroup));
  const Code code{_mm256_loadu_ps(w.code), _mm256_loadu_ps(w.code + 8)};
  BlockScaleWalk scales(w);
  for (; i + kGroup <= count; i += kGroup) {
    const int64_t e = e0 + i;  // a multiple of 16, so the group lies in one block
    const Nibbles n = decode(w.packed + e / 2, code, _mm256_set1_ps(scales.at(e)));
    const __m256 a = _mm256_unpacklo_ps(n.hi, n.lo), b = _mm256_unpackhi_ps(n.hi, n.lo);
    _mm256_storeu_ps(out + i, _mm256_permute2f128_ps(a, b, 0x20));
    _mm256_storeu_ps(out + i + 8, _mm256_permute2f128_ps(a, b, 0x31));
  }
  scalar_to(count);
}

// The few-row product reads a row's 4-bit data in spans of 64 elements (32 bytes, one load) and looks
// the codes up with vpshufb: the 16 float32 code values split into four byte planes (byte b of every
// code, a 16-byte table in each 128-bit lane), one vpshufb per plane per 32 nibbles, and the planes
// interleaved back into float32 by unpacking bytes, then 16-bit words. Two vpermps and a blend per 8
// codes (the groups of 16 below) ran at half this rate on Zen 3. The unpacks leave the codes in their
// own order: nibble half h (0: high nibbles, the even elements; 1: low, odd), unpacked vector q (0-3)
// and lane l hold the element of byte span_byte(q, l) (bytes 0-15 in lanes 0-3, 16-31 in lanes 4-7), and
// x is laid out once per call in that order (layout_x). The last K % 64 elements (0 or 32) use the
// groups of 16 above, x de-interleaved. xp holds the spans span by span, the M rows' pieces of a span
// adjacent, then the rows' tails one after another.
constexpr int kSpan = 64;

constexpr int span_byte(int q, int l) { return l < 4 ? 4 * q + l : 16 + 4 * q + (l - 4); }

// Position o of a laid-out span (o = 32 h + 8 q + l) holds element 2 span_byte(q, l) + h of the span.
void layout_x(const float* x, int64_t M, int64_t K, float* xp) {
  layout_spans<kSpan, kGroup>(x, M, K, xp, [](int o) { return 2 * span_byte(o / 8 % 4, o % 8) + o / 32; });
}

// The code's four byte planes, each 16 bytes repeated in both 128-bit lanes.
struct CodePlanes {
  __m256i plane[4];
  explicit CodePlanes(const float* code) {
    alignas(32) uint8_t bytes[4][32];
    for (int c = 0; c < 16; ++c) {
      uint32_t bits;
      std::memcpy(&bits, code + c, 4);
      for (int b = 0; b < 4; ++b) bytes[b][c] = bytes[b][c + 16] = static_cast<uint8_t>(bits >> (8 * b));
    }
    for (int b = 0; b < 4; ++b) plane[b] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes[b]));
  }
};

// The 64 code values of a span's 32 bytes `v` into f[0:64] in the order layout_x gives x.
inline void decode_span(__m256i v, const CodePlanes& code, float* f) {
  const __m256i low4 = _mm256_set1_epi8(15);
  for (int h = 0; h < 2; ++h) {
    const __m256i idx = h == 0 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), low4) : _mm256_and_si256(v, low4);
    const __m256i b0 = _mm256_shuffle_epi8(code.plane[0], idx), b1 = _mm256_shuffle_epi8(code.plane[1], idx);
    const __m256i b2 = _mm256_shuffle_epi8(code.plane[2], idx), b3 = _mm256_shuffle_epi8(code.plane[3], idx);
    const __m256i lo01 = _mm256_unpacklo_epi8(b0, b1), hi01 = _mm256_unpackhi_epi8(b0, b1);
    const __m256i lo23 = _mm256_unpacklo_epi8(b2, b3), hi23 = _mm256_unpackhi_epi8(b2, b3);
    __m256i* out = reinterpret_cast<__m256i*>(f + 32 * h);
    _mm256_store_si256(out + 0, _mm256_unpacklo_epi16(lo01, lo23));
    _mm256_store_si256(out + 1, _mm256_unpackhi_epi16(lo01, lo23));
    _mm256_store_si256(out + 2, _mm256_unpacklo_epi16(hi01, hi23));
    _mm256_store_si256(out + 3, _mm256_unpackhi_epi16(hi01, hi23));
  }
}

// M rows of x against rows [j0, j1) of W, one W row at a time; SB = the blocks a span covers (2 for
// blocks of 32, 1 from 64 up). Per span, the 64 codes are decoded once into an L1 buffer; each x row's
// products with them (not yet scaled) go into two partial sums, whose total is multiplied by the span's
// per-lane block scales (lanes 0-3 hold bytes 0-15, lanes 4-7 bytes 16-31) and added to the row's
// accumulator: one multiply per 64 weights, not one per 8 (x * code * scale is summed in another order
// than over the dequantised weights, as in the AVX-512 kernel; the float64 bound of linear.test.ts holds).
// Each row's sum runs in the same order whatever M.
template <int M, int SB>
void gemv4_rows(const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t K = w.cols, spans = K / kSpan, groups = K / kGroup, nb = K / w.block;
  const int group_shift = __builtin_ctzll(static_cast<uint64_t>(w.block / kGroup));  // group -> block
  const int span_shift = __builtin_ctzll(static_cast<uint64_t>(std::max<int64_t>(w.block / kSpan, 1)));  // SB == 1
  const CodePlanes planes(w.code);
  const Code code{_mm256_loadu_ps(w.code), _mm256_loadu_ps(w.code + 8)};
  BlockScales scales(w);
  alignas(32) float f[kSpan];
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.packed + j * K / 2;
    const int64_t b0 = j * nb;  // the row's first block
    __m256 acc[M];
    for (int i = 0; i < M; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t s = 0; s < spans; ++s) {
      _mm_prefetch(reinterpret_cast<const char*>(row + s * kSpan / 2 + 1024), _MM_HINT_T0);
      decode_span(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + s * kSpan / 2)), planes, f);
      const __m256 scale = span_scales<SB>(scales, b0, s, span_shift);
      const float* x = xp + s * M * kSpan;
      for (int i = 0; i < M; ++i) {
        const float* xi = x + i * kSpan;
        __m256 p0 = _mm256_mul_ps(_mm256_loadu_ps(xi), _mm256_load_ps(f));
        __m256 p1 = _mm256_mul_ps(_mm256_loadu_ps(xi + 8), _mm256_load_ps(f + 8));
        for (int t = 16; t < kSpan; t += 16) {
          p0 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + t), _mm256_load_ps(f + t), p0);
          p1 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + t + 8), _mm256_load_ps(f + t + 8), p1);
        }
        acc[i] = _mm256_fmadd_ps(_mm256_add_ps(p0, p1), scale, acc[i]);
      }
    }
    __m256 tail[M];
    for (int i = 0; i < M; ++i) tail[i] = _mm256_setzero_ps();
    for (int64_t g = spans * (kSpan / kGroup); g < groups; ++g) {
      const Nibbles n = decode(row + g * kGroup / 2, code, _mm256_set1_ps(scales(b0 + (g >> group_shift))));
      for (int i = 0; i < M; ++i) {
        const float* x = xp + M * spans * kSpan + i * (K - spans * kSpan) + (g - spans * (kSpan / kGroup)) * kGroup;
        tail[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x), n.hi, tail[i]);
        tail[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), n.lo, tail[i]);
      }
    }
    for (int i = 0; i < M; ++i) y[i * ldy + j] = avx2::hsum(_mm256_add_ps(acc[i], tail[i]));
  }
}

void dequant8(const WeightInt8& w, int64_t e0, int64_t count, float* out) {
  const __m256 inv = _mm256_set1_ps(kInv127);
  for (int64_t i = 0; i < count;) {
    const int64_t r = (e0 + i) / w.cols, end = std::min(count, (r + 1) * w.cols - e0);
    const float s = w.row_absmax[r];
    const __m256 vs = _mm256_set1_ps(s);
    for (; i + 8 <= end; i += 8) {
      const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w.data + e0 + i)));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(q), vs), inv));
    }
    for (; i < end; ++i) out[i] = static_cast<float>(w.data[e0 + i]) * s * kInv127;
  }
}

// vpmaddubsw multiplies unsigned by signed bytes into saturating int16 pair sums: |w| as the unsigned
// side and q with w's sign as the signed one (q is in [-127, 127], so negating it cannot overflow, and
// 2 * 128 * 127 stays below 32767: no pair saturates, even for w = -128).
template <int M>
void dot8_rows(const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc) {
  const int64_t K = w.cols;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t j = j0; j < j1; ++j) {
    const int8_t* row = w.data + j * K;
    __m256i sum[M];
    for (int i = 0; i < M; ++i) sum[i] = _mm256_setzero_si256();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + k));
      const __m256i wabs = _mm256_abs_epi8(wv);
      for (int i = 0; i < M; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + i * K + k));
        const __m256i pairs = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xv, wv));
        sum[i] = _mm256_add_epi32(sum[i], _mm256_madd_epi16(pairs, ones));
      }
    }
    for (int i = 0; i < M; ++i) {
      __m128i h = _mm_add_epi32(_mm256_castsi256_si128(sum[i]), _mm256_extracti128_si256(sum[i], 1));
      h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
      h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
      int32_t total = _mm_cvtsi128_si32(h);
      const auto* x = reinterpret_cast<const int8_t*>(xq + i * K);
      for (int64_t kk = k; kk < K; ++kk) total += int32_t{x[kk]} * int32_t{row[kk]};
      acc[i * ldacc + (j - j0)] = total;
    }
  }
}

void gemv4(int64_t m, const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  with_rows(m, [&](auto M) {
    if (w.block == 32) return gemv4_rows<M(), 2>(w, xp, j0, j1, y, ldy);
    gemv4_rows<M(), 1>(w, xp, j0, j1, y, ldy);
  });
}

// int8_vectorwise_quant of one row of x in float16, 8 lanes at a time: vcvtps2ph / vcvtph2ps round to
// float16 as float_to_f16 does (to nearest even, overflow to inf), vcvtps2dq rounds half to even as
// nearbyint does; the row's tail takes the scalar path of the same operations.
void quantize_row8(const float* x, int64_t K, int shift, uint8_t* out, float* absmax) {
  const auto half = [](__m256 v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); };
  const auto half1 = [](float v) { return f16_to_float(float_to_f16(v)); };
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 mv = _mm256_setzero_ps(), nan = _mm256_setzero_ps();  // NaN lanes seen (vmaxps drops them)
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    const __m256 v = _mm256_andnot_ps(sign, half(_mm256_loadu_ps(x + k)));
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    mv = _mm256_max_ps(v, mv);
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  float m = std::max(_mm_cvtss_f32(h), _mm_cvtss_f32(_mm_movehdup_ps(h)));
  if (_mm256_movemask_ps(nan)) m = std::numeric_limits<float>::quiet_NaN();
  for (; k < K; ++k) m = nan_max(m, std::fabs(half1(x[k])));
  const float scale = 127.0f / m;
  const __m256 vs = _mm256_set1_ps(scale);
  const __m128i vshift = _mm_set1_epi8(static_cast<char>(shift));
  for (k = 0; k + 8 <= K; k += 8) {
    __m256 v = _mm256_mul_ps(half(_mm256_loadu_ps(x + k)), vs);
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));  // NaN -> 0
    const __m256i q = _mm256_cvtps_epi32(v);  // |q| <= 127: the saturating packs keep it
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + k), _mm_add_epi8(_mm_packs_epi16(w, w), vshift));
  }
  for (; k < K; ++k) {
    const float v = half1(x[k]) * scale;
    out[k] = static_cast<uint8_t>((std::isnan(v) ? 0 : static_cast<int>(std::nearbyint(v))) + shift);
  }
  *absmax = m;
}

}  // namespace

void dot8_avx2(int64_t m, const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc) {
  with_rows(m, [&](auto M) { dot8_rows<M()>(xq, w, j0, j1, acc, ldacc); });
}

const Kernels& kernels_avx2() {
  static const Kernels k{layout_x, dequant4, gemv4, dequant8, dot8_avx2, 0, quantize_row8, layout_x_bf16_avx2, gemv4_bf16_avx2};
  return k;
}

}  // namespace peftjs::quant::detail
