// WebAssembly SIMD128 GEMM micro-kernel: a 4x8 tile of C in eight 4-float registers, per k one
// broadcast of each A value and two loads of B, then one multiply-add per register. Same packed-panel
// layout as the portable kernels (packed by pack_wasm128.cc).
//
// Two builds of this file (scripts/build-wasm.cjs). With relaxed SIMD (-mrelaxed-simd) the multiply-add
// is f32x4.relaxed_madd, which V8 on x64 with FMA emits as one vfmadd: twice the plain build's flops
// per instruction. Emscripten 3.1.6's clang 14 only knows the proposal's prototype instruction
// (__builtin_wasm_fma_f32x4, opcode 0xfd 0xaf 0x01); build-wasm.cjs renumbers it to the standard
// relaxed_madd (0xfd 0x85 0x02, a * b + c) after linking, so the argument order below is the
// standard's. Without relaxed SIMD it is a multiply then an add (wasm SIMD128 has no FMA), in the same
// sum order per element as the portable kernels, whose results it then equals bit for bit.
//
// Tile size: V8 (Node 20), whose x64 code has 16 vector registers, ran larger tiles (5x8, 6x8, 3x12)
// and the k loop unrolled by 2 or 4 slower. Why, from V8's code (--print-wasm-code): TurboFan issues
// all of a loop body's loads before its arithmetic, so every B vector and broadcast of the body is live
// at once: two k per body (12 loads beside 8 sums) spill to the stack, and 5x8 (7 loads, 10 sums) and
// 3x12 ran at ~57 % of this tile. Measured on Zen 5 (session 9, CPU time, 3.55 GHz), the plain build's
// loop (V8 unrolls it 2-3 times: 2 loads, 4 vbroadcastss, 8 vmulps, 8 vaddps, 3-4 loop ops per k) does
// 46-51 GFLOP/s per core on data in L1, 80-90 % of the mul + add ceiling (16 flop/cycle). No faster
// there, within the ±5 % noise of a shared machine: A packed pre-broadcast (plain loads), 2x16 and 2x12
// tiles, the loop ended by a's address, C updated 4 lanes at a time. The whole 1024^3 product spends
// ~91 % of its time in this loop (perf, 2 threads).
#include <wasm_simd128.h>

#include <algorithm>

#include "gemm.h"
#include "pack_wasm128.h"

namespace peftjs::gemm_detail {
namespace {

constexpr int MR = 4, NR = 8;

// acc + a * b.
inline v128_t multiply_add(v128_t acc, v128_t a, v128_t b) {
#ifdef __wasm_relaxed_simd__
  return __builtin_wasm_fma_f32x4(a, b, acc);  // relaxed_madd(a, b, acc) once renumbered (see above)
#else
  return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b));
#endif
}

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
          acc[i][0] = multiply_add(acc[i][0], ai, b0);
          acc[i][1] = multiply_add(acc[i][1], ai, b1);
        }
      }
      const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
      const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j0));
      if (rows == MR && cols == NR) {  // a whole tile: C updated 4 lanes at a time, in the scalar code's order
        for (int i = 0; i < MR; ++i) {
          float* ci = c + (i0 + i) * ldc + j0;
          for (int h = 0; h < 2; ++h) {
            v128_t v = wasm_f32x4_mul(wasm_f32x4_splat(alpha), acc[i][h]);
            if (beta != 0.0f) v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_f32x4_splat(beta), wasm_v128_load(ci + 4 * h)));
            wasm_v128_store(ci + 4 * h, v);
          }
        }
        continue;
      }
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
