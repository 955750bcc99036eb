// Few rows against a bf16 weight stored N x K (a serving step's 9 to 32 decode rows against a Linear
// layer or the LM head): B is read once, widened bf16 -> float32 by a shift and transposed in small
// blocks in registers, and A is read in place (the moderate-M path packed B's panels with 8x8
// transposes and ran the LM head at ~70 GFLOP/s per CPU-second at M = 16). B stored K x N (Conv1D)
// keeps the moderate-M path, whose panels need no transposes.
//
// Bits: every element of C is the same FMA chain over k as in the moderate-M and packed paths (the
// same K blocks, each block's sum scaled by alpha and joined to C as their register tiles do), so a
// row of C is bit-identical whichever of these paths computes it, i.e. whatever M is from 9 up (with
// beta 0 or 1: for other betas the tiles' partial column panels round beta * C separately). On the
// portable level the chain is the portable tile's unfused multiply-add. 1 to 8 rows keep the
// gemm_detail::Kernels::small_m kernels (their own order).
#pragma once
#include <cstdint>

namespace peftjs::gemm_small_m {

constexpr int64_t kMaxRows = 32;

// One instruction set's kernel: C[0:m, j0:j1] = alpha * A * B[j0:j1]^T + beta * C (beta == 0: C not
// read), A row-major, op(B) cut into K blocks of kc.
struct Kernel {
  void (*columns)(int64_t m, int64_t j0, int64_t j1, int64_t K, int64_t kc, const float* a, int64_t lda,
                  const uint16_t* b, int64_t ldb, float alpha, float beta, float* c, int64_t ldc);
  int strip;  // columns of C per strip (tasks are whole strips)
};

const Kernel& kernel_avx512();
const Kernel& kernel_avx2();
const Kernel& kernel_portable();

// Whether an M-row product with a bf16 B goes here (x86 builds only: the WebAssembly build keeps its
// SIMD128 tiles, whose order this kernel does not reproduce).
bool takes(int64_t M, bool transB);

// The product above on `threads` threads (A row-major M x K, B stored N x K); kc is the K block of the
// packed paths for this K.
void sgemm_bf16(int64_t M, int64_t N, int64_t K, int64_t kc, float alpha, const float* A, int64_t lda,
                const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads);

}  // namespace peftjs::gemm_small_m
