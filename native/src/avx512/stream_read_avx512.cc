// 512-bit streaming sum for the read-bandwidth measurement (stream_read.h).
#include <immintrin.h>

#include "stream_read.h"

namespace peftjs::stream_detail {

float sum_avx512(const float* x, int64_t n) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {  // one 256-byte group: four cache lines
    for (int line = 0; line < 4; ++line) {
      _mm_prefetch(reinterpret_cast<const char*>(x + i + kPrefetchAhead + 16 * line), _MM_HINT_T0);
      acc[line] = _mm512_add_ps(acc[line], _mm512_loadu_ps(x + i + 16 * line));
    }
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  float s = 0.0f;
  for (float l : lanes) s += l;
  for (; i < n; ++i) s += x[i];
  return s;
}

}  // namespace peftjs::stream_detail
