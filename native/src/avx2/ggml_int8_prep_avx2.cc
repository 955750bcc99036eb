// AVX2 preparation of the integer path's operands (native/src/ggml/int8_dot.h), used at the AVX2 and
// AVX-512 levels: the activations quantised to Q8_0 blocks and W's blocks packed into panels. Both do
// the scalar reference's operations (int8_linear.cc), so they give its bytes: the int8-dot test compares
// every level's products bit for bit.
#include <immintrin.h>

#include <algorithm>

#include "ggml/block_bytes_avx2.h"
#include "ggml/blocks.h"
#include "ggml/int8_dot.h"

namespace peftjs::ggml::detail {
namespace {

// Block b of a row as 32 int8 values (Q8_0's as stored, Q4_0's nibbles - 8, Q5_0's five bits - 16,
// Q4_K sub-block b's nibbles) and its scale (Q4_K: d · scale, and dmin · min in *min).
template <Type T>
__m256i unpack(const uint8_t* row, int64_t b, float* scale, float* min) {
  if constexpr (T == Type::Q4_K) {
    const uint8_t* blk = row + (b / 8) * Block<Type::Q4_K>::kBytes;
    const int sub = static_cast<int>(b % 8);
    uint8_t sc, mn;
    scale_min_k4(sub, blk + 4, &sc, &mn);
    *scale = half_at(blk) * sc;
    *min = half_at(blk + 2) * mn;
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * (sub / 2)));
    return _mm256_and_si256(sub % 2 == 0 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
  } else {
    const uint8_t* blk = row + b * Block<T>::kBytes;
    *scale = half_at(blk);
    if constexpr (T == Type::Q8_0) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    if constexpr (T == Type::Q4_0) return _mm256_sub_epi8(nibbles(blk + 2), _mm256_set1_epi8(8));
    return _mm256_sub_epi8(_mm256_or_si256(nibbles(blk + 6), fifth_bits(blk + 2)), _mm256_set1_epi8(16));
  }
}

// The sum of v's 32 signed bytes: vpsadbw over v + 128, less 32 · 128.
inline int32_t byte_sum(__m256i v) {
  const __m256i s = _mm256_sad_epu8(_mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80))), _mm256_setzero_si256());
  const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return static_cast<int32_t>(_mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1)) - 32 * 128;
}

// out[g] = dword g of each of the 8 rows r[0..8) (an 8 x 8 transpose of dwords).
inline void transpose8(const __m256i r[8], __m256i out[8]) {
  __m256i t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    u[4 * k] = _mm256_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  for (int g = 0; g < 4; ++g) {
    out[g] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x20);
    out[g + 4] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x31);
  }
}

// The panel block by block: its 16 rows unpacked, summed and transposed in registers, each of the
// block's 512 bytes written once (the reference writes 4 bytes at a time, row by row).
template <Type T>
void pack_type(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw, float* mw) {
  const int64_t nb = wt.cols / kQ8Block, row_bytes = wt.row_bytes();
  for (int64_t b = 0; b < nb; ++b) {
    for (int half = 0; half < 2; ++half) {
      __m256i v[8], cols[8];
      for (int k = 0; k < 8; ++k) {
        const int64_t r = half * 8 + k;
        float scale = 0.0f, min = 0.0f;
        v[k] = r < n ? unpack<T>(wt.data + (j0 + r) * row_bytes, b, &scale, &min) : _mm256_setzero_si256();
        nws[b * kPanelRows + r] = -128 * byte_sum(v[k]);
        sw[b * kPanelRows + r] = scale;
        if constexpr (T == Type::Q4_K) mw[b * kPanelRows + r] = min;
      }
      transpose8(v, cols);
      for (int g = 0; g < 8; ++g)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + b * kQ8Block * kPanelRows + g * 4 * kPanelRows + half * 32), cols[g]);
    }
  }
}

}  // namespace

void pack_panel_avx2(const Weight& wt, int64_t j0, int64_t n, int8_t* w, int32_t* nws, float* sw, float* mw) {
  switch (wt.type) {
    case Type::Q4_K: return pack_type<Type::Q4_K>(wt, j0, n, w, nws, sw, mw);
    case Type::Q8_0: return pack_type<Type::Q8_0>(wt, j0, n, w, nws, sw, mw);
    case Type::Q4_0: return pack_type<Type::Q4_0>(wt, j0, n, w, nws, sw, mw);
    default: return pack_type<Type::Q5_0>(wt, j0, n, w, nws, sw, mw);
  }
}

// quantize_row_q8_0 over 8 lanes: the block's largest |x| keeps the running maximum as vmaxps's second
// operand, so a NaN element is passed over as std::max(amax, NaN) does; the codes are truncated to
// their low byte (as the reference's cast), not saturated.
void quantize_q8_avx2(const float* x, int64_t nb, uint8_t* xu, float* dx, int32_t* xsum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i offset = _mm256_set1_epi32(128), low_byte = _mm256_set1_epi32(0xFF);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < nb; ++b, x += kQ8Block, xu += kQ8Block) {
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      m = _mm256_max_ps(_mm256_andnot_ps(sign, v[k]), m);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float amax = std::max(_mm_cvtss_f32(m4), _mm_cvtss_f32(_mm_movehdup_ps(m4)));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4], sum = _mm256_setzero_si256();
    for (int k = 0; k < 4; ++k) {
      const __m256 r = _mm256_round_ps(_mm256_mul_ps(v[k], vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m256i qi = _mm256_cvttps_epi32(r);
      sum = _mm256_add_epi32(sum, qi);
      q[k] = _mm256_and_si256(_mm256_add_epi32(qi, offset), low_byte);
    }
    const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xu), _mm256_permutevar8x32_epi32(bytes, order));
    dx[b] = f16_to_float(float_to_f16(amax / 127.0f));
    if (xsum) {
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
      xsum[b] = _mm_cvtsi128_si32(s4);
    }
  }
}

}  // namespace peftjs::ggml::detail
