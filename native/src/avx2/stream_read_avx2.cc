// 256-bit streaming sum for the read-bandwidth measurement (stream_read.h).
#include <immintrin.h>

#include "stream_read.h"

namespace peftjs::stream_detail {

float sum_avx2(const float* x, int64_t n) {
  __m256 acc[8];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {  // one 256-byte group: four cache lines
    for (int line = 0; line < 4; ++line)
      _mm_prefetch(reinterpret_cast<const char*>(x + i + kPrefetchAhead + 16 * line), _MM_HINT_T0);
    for (int v = 0; v < 8; ++v) acc[v] = _mm256_add_ps(acc[v], _mm256_loadu_ps(x + i + 8 * v));
  }
  for (int v = 1; v < 8; ++v) acc[0] = _mm256_add_ps(acc[0], acc[v]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc[0]);
  float s = 0.0f;
  for (float l : lanes) s += l;
  for (; i < n; ++i) s += x[i];
  return s;
}

}  // namespace peftjs::stream_detail
