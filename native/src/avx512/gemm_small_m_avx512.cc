// The few-row bf16 kernel (gemm_small_m_kernel.h) on AVX-512: strips of 64 columns (4 zmm), tiles of
// 6 rows (24 accumulators), B transposed in 16 x 16 blocks.
#include <immintrin.h>

#include "gemm_small_m.h"
#include "gemm_small_m_kernel.h"

// GCC 12 reports the undefined pass-through operand inside _mm512_unpacklo_ps and friends as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace peftjs::gemm_small_m {
namespace {

struct Zmm {
  static constexpr int kLanes = 16, kStripVectors = 4, kTileRows = 6;
  using T = __m512;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float s) { return _mm512_set1_ps(s); }
  static T load(const float* p) { return _mm512_load_ps(p); }
  static T loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  // As the 12x32 tile joins a K block's scaled sum x to C: one FMA.
  static T join(T beta, T c, T x) { return _mm512_fmadd_ps(beta, c, x); }
  static float join1(float beta, float c, float x) { return __builtin_fmaf(beta, c, x); }

  // dst[k * stride + r] = src[r * ldb + k] widened (bf16 -> float32: the 16 bits moved up), r < rows
  // (zeros beyond), k < 16. A 16 x 16 transpose in four rounds of shuffles.
  static void transpose_widen(const uint16_t* src, int64_t ldb, int rows, float* dst, int64_t stride) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) {
      const __m256i h = i < rows ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i * ldb)) : _mm256_setzero_si256();
      r[i] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
      r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
      r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xee);
      r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    // Rows 4g..4g+3 now hold, in each 128-bit lane q, columns 4q..4q+3 of those rows, transposed.
    for (int i = 0; i < 4; ++i) {
      t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
      t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
      t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
      t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; ++i) {
      _mm512_storeu_ps(dst + i * stride, _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88));
      _mm512_storeu_ps(dst + (i + 8) * stride, _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd));
    }
  }
};

}  // namespace

const Kernel& kernel_avx512() {
  static const Kernel k{columns<Zmm>, Zmm::kLanes * Zmm::kStripVectors};
  return k;
}

}  // namespace peftjs::gemm_small_m
