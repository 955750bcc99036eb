// SIMD128 GEMM packers (see pack_wasm128.h). Whole panels of float32 go four k at a time; a last
// partial panel, and bf16/f16 B, go to the portable packers, which write the same layout.
#include "pack_wasm128.h"

#include <wasm_simd128.h>

namespace peftjs::gemm_detail {
namespace {

constexpr int MR = 4, NR = 8;

// Rows r0..r3 (4 floats each) become columns: r0 = (r0[0], r1[0], r2[0], r3[0]) and so on.
inline void transpose4(v128_t& r0, v128_t& r1, v128_t& r2, v128_t& r3) {
  const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
  const v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  r0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  r1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  r2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  r3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

// dst[k * step + 0..3] = (row0[k], row1[k], row2[k], row3[k]) for k in [0, kc): rows read along k.
inline void gather4(const float* row0, const float* row1, const float* row2, const float* row3, int64_t kc,
                    int step, float* dst) {
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    v128_t r0 = wasm_v128_load(row0 + k), r1 = wasm_v128_load(row1 + k), r2 = wasm_v128_load(row2 + k),
           r3 = wasm_v128_load(row3 + k);
    transpose4(r0, r1, r2, r3);
    wasm_v128_store(dst + k * step, r0);
    wasm_v128_store(dst + (k + 1) * step, r1);
    wasm_v128_store(dst + (k + 2) * step, r2);
    wasm_v128_store(dst + (k + 3) * step, r3);
  }
  for (; k < kc; ++k) {
    float* d = dst + k * step;
    d[0] = row0[k];
    d[1] = row1[k];
    d[2] = row2[k];
    d[3] = row3[k];
  }
}

}  // namespace

void pack_a_wasm128(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst) {
  int64_t i0 = 0;
  for (; i0 + MR <= mc; i0 += MR, dst += MR * kc) {
    if (trans) {  // stored K x M: op(A)[i][k] = a[k * lda + i], four rows side by side
      for (int64_t k = 0; k < kc; ++k) wasm_v128_store(dst + k * MR, wasm_v128_load(a + k * lda + i0));
    } else {
      const float* r = a + i0 * lda;
      gather4(r, r + lda, r + 2 * lda, r + 3 * lda, kc, MR, dst);
    }
  }
  if (i0 < mc) kernels_f32_portable().pack_a(trans, trans ? a + i0 : a + i0 * lda, lda, mc - i0, kc, dst);
}

void pack_b_wasm128(bool trans, const void* b, BType bt, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  if (bt != BType::F32) return kernels_f32_portable().pack_b(trans, b, bt, ldb, kc, nc, dst);
  const float* f = static_cast<const float*>(b);
  int64_t j0 = 0;
  for (; j0 + NR <= nc; j0 += NR, dst += NR * kc) {
    if (trans) {  // stored N x K: op(B)[k][j] = f[j * ldb + k], eight rows read along k
      const float* r = f + j0 * ldb;
      gather4(r, r + ldb, r + 2 * ldb, r + 3 * ldb, kc, NR, dst);
      r += 4 * ldb;
      gather4(r, r + ldb, r + 2 * ldb, r + 3 * ldb, kc, NR, dst + 4);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        wasm_v128_store(dst + k * NR, wasm_v128_load(f + k * ldb + j0));
        wasm_v128_store(dst + k * NR + 4, wasm_v128_load(f + k * ldb + j0 + 4));
      }
    }
  }
  if (j0 < nc) kernels_f32_portable().pack_b(trans, trans ? f + j0 * ldb : f + j0, bt, ldb, kc, nc - j0, dst);
}

}  // namespace peftjs::gemm_detail
