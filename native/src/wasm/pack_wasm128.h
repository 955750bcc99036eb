// SIMD128 packers for the WebAssembly GEMM kernel (gemm_wasm128.cc): the layout of the portable
// packers (4-row A panels, 8-column B panels, k-major) written four k at a time with vector loads and
// 4x4 transposes instead of one float at a time. They copy, so results are unchanged bit for bit.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace peftjs::gemm_detail {

// Kernels::pack_a for 4-row panels.
void pack_a_wasm128(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst);
// Kernels::pack_b for 8-column panels.
void pack_b_wasm128(bool trans, const void* b, BType bt, int64_t ldb, int64_t kc, int64_t nc, float* dst);

}  // namespace peftjs::gemm_detail
