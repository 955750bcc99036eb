// AVX-512 quantised-weight kernels. A 4-bit group is 32 elements (16 bytes): the bytes widened to
// 16 int32 lanes, the high nibbles (even elements) and low nibbles (odd elements) each turned into
// code values by one _mm512_permutexvar_ps over the 16-value code (it reads only the index's low four
// bits, so the low nibble needs no mask), times the block's scale. The few-row products consume the
// two halves as they come, against x de-interleaved the same way (even elements, then odd); dequantising
// interleaves them back. Double-quantised block scales are decoded per block on the fly.
#include <immintrin.h>

#include <algorithm>
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
template <int M>
__attribute__((target("avx512vnni"))) void dot8_vnni_rows(const uint8_t* xq, const WeightInt8& w, int64_t j0,
                                                          int64_t j1, int32_t* acc, int64_t ldacc) {
  const int64_t K = w.cols;
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t j = j0; j < j1; ++j) {
    const int8_t* row = w.data + j * K;
    __m512i sum[M], wsum = _mm512_setzero_si512();
    for (int i = 0; i < M; ++i) sum[i] = _mm512_setzero_si512();
    for (int64_t k = 0; k < K; k += 64) {
      const __mmask64 mask = K - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (K - k)) - 1;
      const __m512i wv = _mm512_maskz_loadu_epi8(mask, row + k);
      wsum = _mm512_dpbusd_epi32(wsum, ones, wv);
      for (int i = 0; i < M; ++i)
        sum[i] = _mm512_dpbusd_epi32(sum[i], _mm512_maskz_loadu_epi8(mask, xq + i * K + k), wv);
    }
    const int32_t correction = 128 * _mm512_reduce_add_epi32(wsum);
    for (int i = 0; i < M; ++i) acc[i * ldacc + (j - j0)] = _mm512_reduce_add_epi32(sum[i]) - correction;
  }
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
  static const Kernels k = has_vnni() ? Kernels{kGroup, dequant4, gemv4, dequant8, dot8_vnni, 128}
                                      : Kernels{kGroup, dequant4, gemv4, dequant8, dot8_avx2, 0};
  return k;
}

}  // namespace peftjs::quant::detail
