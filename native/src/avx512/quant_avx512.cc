// AVX-512 quantised-weight kernels. A 4-bit group is 32 elements (16 bytes): the bytes widened to
// 16 int32 lanes, the high nibbles (even elements) and low nibbles (odd elements) each turned into
// code values by one _mm512_permutexvar_ps over the 16-value code (it reads only the index's low four
// bits, so the low nibble needs no mask), times the block's scale. The few-row products consume the
// two halves as they come, against x de-interleaved the same way (even elements, then odd); dequantising
// interleaves them back. Double-quantised block scales are decoded per block on the fly.
#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <vector>

// GCC 12's AVX-512 headers initialise a placeholder from itself (`__m512i __Y = __Y;`) in the widening
// conversions, which -Wmaybe-uninitialized reports once inlined here: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "quant/quant.h"

namespace peftjs::quant::detail {
namespace {

constexpr int kGroup = 32;

struct Nibbles {
  __m512 hi, lo;  // elements 0, 2, ..., 30 and 1, 3, ..., 31 of the group
};

inline Nibbles decode(const uint8_t* p, __m512 code, __m512 scale) {
  const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return {_mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), code), scale),
          _mm512_mul_ps(_mm512_permutexvar_ps(b, code), scale)};
}

// decode() with the code already multiplied by the group's block scale (the same products, code[i] *
// scale, so the same values): one multiply per block instead of two per group.
inline Nibbles decode_scaled(const uint8_t* p, __m512 scaled_code) {
  const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return {_mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), scaled_code), _mm512_permutexvar_ps(b, scaled_code)};
}

void dequant4(const Weight4& w, int64_t e0, int64_t count, float* out) {
  int64_t i = 0;
  auto scalar_to = [&](int64_t end) {
    for (; i < end; ++i) out[i] = w.code[w.nibble(e0 + i)] * w.scale((e0 + i) / w.block);
  };
  scalar_to(std::min(count, (kGroup - e0 % kGroup) % kGroup));
  const __m512 code = _mm512_loadu_ps(w.code);
  const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  BlockScaleWalk scales(w);
  for (; i + kGroup <= count; i += kGroup) {
    const int64_t e = e0 + i;  // a multiple of 32, so the group lies in one block (block % 32 == 0)
    const Nibbles n = decode(w.packed + e / 2, code, _mm512_set1_ps(scales.at(e)));
    _mm512_storeu_ps(out + i, _mm512_permutex2var_ps(n.hi, first, n.lo));
    _mm512_storeu_ps(out + i + 16, _mm512_permutex2var_ps(n.hi, second, n.lo));
  }
  scalar_to(count);
}

// The scales of blocks [b0, b0 + nb): the float32 absmax as stored, or the double-quantised ones decoded
// 16 at a time (gathers from the 256-value code and the nested scales), rounded as Weight4::scale does.
const float* block_scales(const Weight4& w, int64_t b0, int64_t nb, float* buf) {
  if (w.absmax) return w.absmax + b0;
  int64_t i = 0;
  if ((w.nested_block & (w.nested_block - 1)) == 0) {
    const int shift = __builtin_ctzll(static_cast<uint64_t>(w.nested_block));
    const __m512 offset = _mm512_set1_ps(w.offset);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= nb; i += 16) {
      const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.nested_codes + b0 + i)));
      // The 16 blocks' nested scale: one broadcast when they share it (the usual case), else a gather.
      const int64_t first = (b0 + i) >> shift, last = (b0 + i + 15) >> shift;
      const __m512 scale =
          first == last ? _mm512_set1_ps(w.nested_absmax[first])
                        : _mm512_i32gather_ps(_mm512_srli_epi32(_mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(b0 + i)), lane), shift),
                                              w.nested_absmax, 4);
      __m512 product = _mm512_mul_ps(_mm512_i32gather_ps(q, w.nested_code, 4), scale);
      __asm__("" : "+v"(product));  // two roundings, no FMA (see Weight4::scale)
      _mm512_storeu_ps(buf + i, _mm512_add_ps(product, offset));
    }
  }
  for (; i < nb; ++i) buf[i] = w.scale(b0 + i);
  return buf;
}

// M rows of x against rows [j0, j1) of W, one W row at a time: the row's block scales first, then
// two groups per step into separate accumulators (four FMA chains per x row).
template <int M>
void gemv4_rows(const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t K = w.cols, groups = K / kGroup, nb = K / w.block;
  const int shift = __builtin_ctzll(static_cast<uint64_t>(w.block / kGroup));  // group -> block
  const __m512 code = _mm512_loadu_ps(w.code);
  thread_local std::vector<float> buf;
  buf.resize(nb);
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.packed + j * K / 2;
    const float* sc = block_scales(w, j * nb, nb, buf.data());
    __m512 acc[M][4];
    for (int i = 0; i < M; ++i)
      for (int a = 0; a < 4; ++a) acc[i][a] = _mm512_setzero_ps();
    int64_t g = 0;
    for (; g + 2 <= groups; g += 2) {
      // blocks of 64 or more: both groups share a block, so one scaled code serves them
      const __m512 c0 = _mm512_mul_ps(code, _mm512_set1_ps(sc[g >> shift]));
      const __m512 c1 = shift > 0 ? c0 : _mm512_mul_ps(code, _mm512_set1_ps(sc[(g + 1) >> shift]));
      const Nibbles n0 = decode_scaled(row + g * kGroup / 2, c0);
      const Nibbles n1 = decode_scaled(row + (g + 1) * kGroup / 2, c1);
      for (int i = 0; i < M; ++i) {
        const float* x = xp + i * K + g * kGroup;
        acc[i][0] = _mm512_fmadd_ps(_mm512_loadu_ps(x), n0.hi, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), n0.lo, acc[i][1]);
        acc[i][2] = _mm512_fmadd_ps(_mm512_loadu_ps(x + 32), n1.hi, acc[i][2]);
        acc[i][3] = _mm512_fmadd_ps(_mm512_loadu_ps(x + 48), n1.lo, acc[i][3]);
      }
    }
    if (g < groups) {
      const Nibbles n0 = decode(row + g * kGroup / 2, code, _mm512_set1_ps(sc[g >> shift]));
      for (int i = 0; i < M; ++i) {
        const float* x = xp + i * K + g * kGroup;
        acc[i][0] = _mm512_fmadd_ps(_mm512_loadu_ps(x), n0.hi, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), n0.lo, acc[i][1]);
      }
    }
    for (int i = 0; i < M; ++i) {
      const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]), _mm512_add_ps(acc[i][2], acc[i][3]));
      y[i * ldy + j] = _mm512_reduce_add_ps(sum);
    }
  }
}

void dequant8(const WeightInt8& w, int64_t e0, int64_t count, float* out) {
  const __m512 inv = _mm512_set1_ps(kInv127);
  for (int64_t i = 0; i < count;) {
    const int64_t r = (e0 + i) / w.cols, end = std::min(count, (r + 1) * w.cols - e0);
    const float s = w.row_absmax[r];
    const __m512 vs = _mm512_set1_ps(s);
    for (; i + 16 <= end; i += 16) {
      const __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.data + e0 + i)));
      _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(q), vs), inv));
    }
    for (; i < end; ++i) out[i] = static_cast<float>(w.data[e0 + i]) * s * kInv127;
  }
}

// VNNI: vpdpbusd adds four products of unsigned by signed bytes into each int32 lane, without
// saturation. The activations come shifted to q + 128 (unsigned); sum (q + 128) w - 128 sum w = sum q w,
// with sum w taken by the same instruction against bytes of 1. A masked load zeroes the K tail on both
// sides, so it adds nothing to either sum.
// vpdpbusd into accumulators `sum` (x rows) and `wsum` (bytes of 1) for the bytes of W row `w` and
// the x rows at `x` (row stride K) selected by `mask`.
template <int M>
__attribute__((target("avx512vnni"))) inline void dpbusd_masked(__mmask64 mask, const int8_t* w, const uint8_t* x,
                                                                int64_t K, __m512i* sum, __m512i& wsum) {
  const __m512i wv = _mm512_maskz_loadu_epi8(mask, w);
  wsum = _mm512_dpbusd_epi32(wsum, _mm512_set1_epi8(1), wv);
  for (int i = 0; i < M; ++i) sum[i] = _mm512_dpbusd_epi32(sum[i], _mm512_maskz_loadu_epi8(mask, x + i * K), wv);
}

// Each W row is read in 64-byte-aligned pieces (a masked load up to the first boundary, one at the
// end): unaligned 64-byte loads of a streamed weight cross a cache line every time and ran at half
// the speed of AVX2's 32-byte ones. Two accumulators per sum, alternating, hide vpdpbusd's latency.
template <int M>
__attribute__((target("avx512vnni"))) void dot8_vnni_rows(const uint8_t* xq, const WeightInt8& w, int64_t j0,
                                                          int64_t j1, int32_t* acc, int64_t ldacc) {
  const int64_t K = w.cols;
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t j = j0; j < j1; ++j) {
    const int8_t* row = w.data + j * K;
    __m512i sum[M], sum2[M], wsum = _mm512_setzero_si512(), wsum2 = _mm512_setzero_si512();
    for (int i = 0; i < M; ++i) sum[i] = sum2[i] = _mm512_setzero_si512();
    const auto mask_of = [](int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; };
    int64_t k = std::min<int64_t>(K, (64 - (reinterpret_cast<uintptr_t>(row) & 63)) & 63);
    if (k > 0) dpbusd_masked<M>(mask_of(k), row, xq, K, sum, wsum);
    for (; k + 128 <= K; k += 128) {
      _mm_prefetch(reinterpret_cast<const char*>(row + k + 1024), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(row + k + 1088), _MM_HINT_T0);
      const __m512i wv = _mm512_load_si512(row + k), wv2 = _mm512_load_si512(row + k + 64);
      wsum = _mm512_dpbusd_epi32(wsum, ones, wv);
      wsum2 = _mm512_dpbusd_epi32(wsum2, ones, wv2);
      for (int i = 0; i < M; ++i) {
        sum[i] = _mm512_dpbusd_epi32(sum[i], _mm512_loadu_si512(xq + i * K + k), wv);
        sum2[i] = _mm512_dpbusd_epi32(sum2[i], _mm512_loadu_si512(xq + i * K + k + 64), wv2);
      }
    }
    for (; k < K; k += 64) dpbusd_masked<M>(mask_of(K - k), row + k, xq + k, K, sum, wsum);
    wsum = _mm512_add_epi32(wsum, wsum2);
    const int32_t correction = 128 * _mm512_reduce_add_epi32(wsum);
    for (int i = 0; i < M; ++i)
      acc[i * ldacc + (j - j0)] = _mm512_reduce_add_epi32(_mm512_add_epi32(sum[i], sum2[i])) - correction;
  }
}

// int8_vectorwise_quant of one row of x in float16, 16 lanes at a time (masked for the tail):
// vcvtps2ph / vcvtph2ps round to float16 as float_to_f16 does (to nearest even, overflow to inf),
// vcvtps2dq rounds half to even as nearbyint does.
void quantize_row8(const float* x, int64_t K, int shift, uint8_t* out, float* absmax) {
  const auto half = [](__m512 v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); };
  const auto mask_of = [](int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); };
  __m512 mv = _mm512_setzero_ps();
  __mmask16 nan = 0;  // vmaxps drops a NaN operand; bitsandbytes' row max (torch.max) keeps it
  for (int64_t k = 0; k < K; k += 16) {
    const __m512 v = _mm512_abs_ps(half(_mm512_maskz_loadu_ps(mask_of(K - k), x + k)));
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    mv = _mm512_max_ps(v, mv);
  }
  // (not _mm512_reduce_max_ps: GCC 12's header trips -Wuninitialized in it)
  const __m256 m8 = _mm256_max_ps(_mm512_extractf32x8_ps(mv, 0), _mm512_extractf32x8_ps(mv, 1));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  const float m = nan ? std::numeric_limits<float>::quiet_NaN() : std::max(_mm_cvtss_f32(m4), _mm_cvtss_f32(_mm_movehdup_ps(m4)));
  const __m512 vs = _mm512_set1_ps(127.0f / m);
  const __m512i vshift = _mm512_set1_epi32(shift);
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 mask = mask_of(K - k);
    const __m512 v = _mm512_mul_ps(half(_mm512_maskz_loadu_ps(mask, x + k)), vs);
    const __m512i q = _mm512_cvtps_epi32(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v));  // NaN -> 0
    _mm512_mask_cvtepi32_storeu_epi8(out + k, mask, _mm512_add_epi32(q, vshift));
  }
  *absmax = m;
}

bool has_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

void gemv4(int64_t m, const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  with_rows(m, [&](auto M) { gemv4_rows<M()>(w, xp, j0, j1, y, ldy); });
}

void dot8_vnni(int64_t m, const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc) {
  with_rows(m, [&](auto M) { dot8_vnni_rows<M()>(xq, w, j0, j1, acc, ldacc); });
}

}  // namespace

const Kernels& kernels_avx512() {
  static const Kernels k = has_vnni() ? Kernels{kGroup, dequant4, gemv4, dequant8, dot8_vnni, 128, quantize_row8}
                                      : Kernels{kGroup, dequant4, gemv4, dequant8, dot8_avx2, 0, quantize_row8};
  return k;
}

}  // namespace peftjs::quant::detail
