// WebAssembly SIMD128 GEMM micro-kernel: a 4x8 tile of C in eight 4-float registers, per k one
// broadcast of each A value and two loads of B, multiplied then added (wasm has no FMA without
// relaxed SIMD, which Emscripten 3.1.6 lacks). Same packed-panel layout as the portable kernels
// (packed by pack_wasm128.cc) and the same sum order per element, so its results equal theirs bit for
// bit. Larger tiles (5x8, 6x8, 3x12) and the k loop unrolled by 2 or 4 ran slower in V8 (Node 20),
// whose x64 code has 16 vector registers: the tile, two B vectors, a broadcast and a product use 12.
#include <wasm_simd128.h>

#include <algorithm>

#include "gemm.h"
#include "pack_wasm128.h"

namespace peftjs::gemm_detail {
namespace {

constexpr int MR = 4, NR = 8;

// C[0:mc, 0:nc] = alpha * packedA * packedB + beta * C, one MR x NR tile at a time.
void macro(int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb, float alpha, float beta, float* c,
           int64_t ldc) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    for (int64_t i0 = 0; i0 < mc; i0 += MR) {
      const float* a = pa + i0 * kc;
      const float* b = pb + j0 * kc;
      v128_t acc[MR][2];
      for (auto& row : acc) row[0] = row[1] = wasm_f32x4_splat(0.0f);
      for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
        const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        for (int i = 0; i < MR; ++i) {
          const v128_t ai = wasm_f32x4_splat(a[i]);
          acc[i][0] = wasm_f32x4_add(acc[i][0], wasm_f32x4_mul(ai, b0));
          acc[i][1] = wasm_f32x4_add(acc[i][1], wasm_f32x4_mul(ai, b1));
        }
      }
      const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
      const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j0));
      for (int i = 0; i < rows; ++i) {
        float tile[NR];
        wasm_v128_store(tile, acc[i][0]);
        wasm_v128_store(tile + 4, acc[i][1]);
        float* ci = c + (i0 + i) * ldc + j0;
        for (int j = 0; j < cols; ++j) ci[j] = beta == 0.0f ? alpha * tile[j] : alpha * tile[j] + beta * ci[j];
      }
    }
  }
}

}  // namespace

const Kernels<float>& kernels_f32_wasm128() {
  static const Kernels<float> k = [] {
    Kernels<float> portable = kernels_f32_portable();  // 4 x 8 panels, as this tile reads them
    portable.pack_a = pack_a_wasm128;
    portable.pack_b = pack_b_wasm128;
    portable.macro = macro;
    // Up to 256 rows (a training step's tokens against a weight) stream B panel by panel, as AVX-512 does.
    portable.stream_m = 256;
    return portable;
  }();
  return k;
}

}  // namespace peftjs::gemm_detail
