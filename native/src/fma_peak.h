// The CPU's measured FMA throughput: the ceiling that GEMM speed is judged against.
#pragma once
#include <cstdint>

namespace peftjs {

// GFLOP/s (2 per lane per FMA) of independent in-register FMA chains of `width_bits` (128, 256 or
// 512) run for about `seconds` on `threads` std::threads at once. Returns -1 when this CPU (capped by
// PEFTJS_SIMD) lacks the width: 128 and 256 need AVX2+FMA, 512 needs AVX-512.
double fma_peak_gflops(int width_bits, int threads, double seconds);

namespace fma_detail {
// Run `rounds` rounds of 12 (16 for 512 bits) independent FMA chains; return the flops done.
double fma_rounds_128(int64_t rounds);
double fma_rounds_256(int64_t rounds);
double fma_rounds_512(int64_t rounds);
}  // namespace fma_detail

}  // namespace peftjs
