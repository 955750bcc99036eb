// AVX-512 quantised-weight kernels. Dequantising: a 4-bit group is 32 elements (16 bytes): the bytes
// widened to 16 int32 lanes, the high nibbles (even elements) and low nibbles (odd elements) each turned
// into code values by one _mm512_permutexvar_ps over the 16-value code (it reads only the index's low
// four bits, so the low nibble needs no mask), times the block's scale, then interleaved back. The
// few-row products read spans of 128 elements without widening (see gemv4_rows). Double-quantised
// block scales are looked up in a table of the current nested block's scales (BlockScales).
#include <immintrin.h>

#include <algorithm>
#include <limits>

// GCC 12's AVX-512 headers initialise a placeholder from itself (`__m512i __Y = __Y;`) in the widening
// conversions, which -Wmaybe-uninitialized reports once inlined here: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// (and _mm512_srli_epi32 passes _mm512_undefined_epi32() as its unused merge source: -Wuninitialized)
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "avx512/block_scales.h"
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

// The few-row product reads a row's 4-bit data in spans of 128 elements (64 bytes, one load): dword
// lane l holds elements 8l .. 8l + 7, and shifting the whole vector right by 4t bits brings one nibble
// of every lane to the lane's low four bits, which _mm512_permutexvar_ps reads as the code index (no
// widening, no mask): step t gives element 8l + (t ^ 1) of each lane (the low nibble of a byte is the
// odd element). x is laid out once per call in that order (layout_x), so the products need no shuffle.
// The last K % 128 elements (a multiple of 32) use the 32-element groups above, x de-interleaved.
// xp holds the spans span by span, the M rows' pieces of a span adjacent (the kernel reaches them from
// one pointer at constant offsets: with a pointer per row, M >= 6 ran out of registers and spilled),
// then the rows' tails one after another.
constexpr int kSpan = 128;

// Position o of a laid-out span (o = 16 t + l) holds element 8 l + (t ^ 1) of the span.
void layout_x(const float* x, int64_t M, int64_t K, float* xp) {
  layout_spans<kSpan, kGroup>(x, M, K, xp, [](int o) { return 8 * (o % 16) + ((o / 16) ^ 1); });
}

// M rows of x against rows [j0, j1) of W, one W row at a time; SB = the blocks a span covers (4 for
// blocks of 32, 2 for 64, 1 from 128 up). Per span, each x row's products with the span's code values
// (not yet scaled) go into two partial sums, which are then multiplied by the span's per-lane block
// scales (lane l is in the span's block 8 l / block) and added to the row's accumulator: one multiply
// per 128 weights instead of one per 16 (the products x * code * scale are summed in another order
// than over the dequantised weights; the float64 bound of linear.test.ts holds either way, as
// bitsandbytes' own gemv_4bit is not bit-exact with its dense product either). The weight is streamed,
// so it is prefetched a few spans ahead.
template <int M, int SB>
void gemv4_rows(const Weight4& w, const float* xp, int64_t j0, int64_t j1, float* y, int64_t ldy) {
  const int64_t K = w.cols, spans = K / kSpan, groups = K / kGroup, nb = K / w.block;
  const int group_shift = __builtin_ctzll(static_cast<uint64_t>(w.block / kGroup));  // group -> block
  const int span_shift = __builtin_ctzll(static_cast<uint64_t>(std::max<int64_t>(w.block / kSpan, 1)));  // SB == 1
  const __m512 code = _mm512_loadu_ps(w.code);
  BlockScales scales(w);
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* row = w.packed + j * K / 2;
    const int64_t b0 = j * nb;  // the row's first block
    __m512 acc[M];
    for (int i = 0; i < M; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t s = 0; s < spans; ++s) {
      _mm_prefetch(reinterpret_cast<const char*>(row + s * kSpan / 2 + 1024), _MM_HINT_T0);
      __m512i v = _mm512_loadu_si512(row + s * kSpan / 2);
      __asm__("" : "+v"(v));  // one load: GCC otherwise re-reads the weight for each shift (a split line each time)
      const __m512 scale = span_scales<SB>(scales, b0, s, span_shift);
      const float* x = xp + s * M * kSpan;
      __m512 p[M][2];
      for (int i = 0; i < M; ++i) {
        p[i][0] = _mm512_mul_ps(_mm512_loadu_ps(x + i * kSpan), _mm512_permutexvar_ps(v, code));
      }
      const __m512 c1 = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), code);
      for (int i = 0; i < M; ++i) p[i][1] = _mm512_mul_ps(_mm512_loadu_ps(x + i * kSpan + 16), c1);
#define PEFTJS_NF4_STEP(t)                                                                          \
  {                                                                                                 \
    const __m512 c = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4 * (t)), code);                    \
    for (int i = 0; i < M; ++i)                                                                     \
      p[i][(t) & 1] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i * kSpan + 16 * (t)), c, p[i][(t) & 1]); \
  }
      PEFTJS_NF4_STEP(2) PEFTJS_NF4_STEP(3) PEFTJS_NF4_STEP(4) PEFTJS_NF4_STEP(5) PEFTJS_NF4_STEP(6) PEFTJS_NF4_STEP(7)
#undef PEFTJS_NF4_STEP
      for (int i = 0; i < M; ++i) acc[i] = _mm512_fmadd_ps(_mm512_add_ps(p[i][0], p[i][1]), scale, acc[i]);
    }
    __m512 tail[M];
    for (int i = 0; i < M; ++i) tail[i] = _mm512_setzero_ps();
    for (int64_t g = spans * (kSpan / kGroup); g < groups; ++g) {
      const Nibbles n = decode(row + g * kGroup / 2, code, _mm512_set1_ps(scales(b0 + (g >> group_shift))));
      for (int i = 0; i < M; ++i) {
        const float* x = xp + M * spans * kSpan + i * (K - spans * kSpan) + (g - spans * (kSpan / kGroup)) * kGroup;
        tail[i] = _mm512_fmadd_ps(_mm512_loadu_ps(x), n.hi, tail[i]);
        tail[i] = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), n.lo, tail[i]);
      }
    }
    for (int i = 0; i < M; ++i) y[i * ldy + j] = _mm512_reduce_add_ps(_mm512_add_ps(acc[i], tail[i]));
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
  with_rows(m, [&](auto M) {
    if (w.block == 32) return gemv4_rows<M(), 4>(w, xp, j0, j1, y, ldy);
    if (w.block == 64) return gemv4_rows<M(), 2>(w, xp, j0, j1, y, ldy);
    gemv4_rows<M(), 1>(w, xp, j0, j1, y, ldy);
  });
}

void dot8_vnni(int64_t m, const uint8_t* xq, const WeightInt8& w, int64_t j0, int64_t j1, int32_t* acc, int64_t ldacc) {
  with_rows(m, [&](auto M) { dot8_vnni_rows<M()>(xq, w, j0, j1, acc, ldacc); });
}

}  // namespace

const Kernels& kernels_avx512() {
  static const Kernels k = [] {
    Kernels k = has_vnni() ? Kernels{layout_x, dequant4, gemv4, dequant8, dot8_vnni, 128, quantize_row8}
                           : Kernels{layout_x, dequant4, gemv4, dequant8, dot8_avx2, 0, quantize_row8};
    if (has_bf16()) {
      k.layout_x_bf16 = layout_x_bf16;
      k.gemv4_bf16 = gemv4_bf16;
    }
    return k;
  }();
  return k;
}

}  // namespace peftjs::quant::detail
