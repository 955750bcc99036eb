// The few-row bf16 kernel (gemm_small_m_kernel.h) on AVX2 + FMA: strips of 16 columns (2 ymm), tiles
// of 6 rows (12 accumulators of the 16 registers), B transposed in 8 x 8 blocks.
#include <immintrin.h>

#include "gemm_small_m.h"
#include "gemm_small_m_kernel.h"

namespace peftjs::gemm_small_m {
namespace {

struct Ymm {
  static constexpr int kLanes = 8, kStripVectors = 2, kTileRows = 6;
  using T = __m256;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float s) { return _mm256_set1_ps(s); }
  static T load(const float* p) { return _mm256_load_ps(p); }
  static T loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  // As the 6x16 tile joins a K block's scaled sum x to C: one FMA.
  static T join(T beta, T c, T x) { return _mm256_fmadd_ps(beta, c, x); }
  static float join1(float beta, float c, float x) { return __builtin_fmaf(beta, c, x); }

  // dst[k * stride + r] = src[r * ldb + k] widened (bf16 -> float32: the 16 bits moved up), r < rows
  // (zeros beyond), k < 8: unpack, shuffle, then swap 128-bit halves.
  static void transpose_widen(const uint16_t* src, int64_t ldb, int rows, float* dst, int64_t stride) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) {
      const __m128i h = i < rows ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * ldb)) : _mm_setzero_si128();
      r[i] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h) {
      r[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
      r[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xee);
      r[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
      r[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(dst + i * stride, _mm256_permute2f128_ps(r[i], r[4 + i], 0x20));
      _mm256_storeu_ps(dst + (4 + i) * stride, _mm256_permute2f128_ps(r[i], r[4 + i], 0x31));
    }
  }
};

}  // namespace

const Kernel& kernel_avx2() {
  static const Kernel k{columns<Ymm>, Ymm::kLanes * Ymm::kStripVectors};
  return k;
}

}  // namespace peftjs::gemm_small_m
