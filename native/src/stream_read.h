// The memory read bandwidth a kernel can reach: the sum of a large buffer, read with the widest loads
// this CPU has and a software prefetch ahead of them, split among the threads.
#pragma once
#include <cstdint>

namespace peftjs::stream_detail {
// Sum of x[0, n): one pass, the reads as a streaming kernel makes them. The order of the additions
// differs per ISA (the value only keeps the reads from being optimised away).
float sum_avx2(const float* x, int64_t n);
float sum_avx512(const float* x, int64_t n);
// Floats ahead of the loads that each loop iteration prefetches: 1 KiB. Without it one core keeps
// too few lines in flight (a Sapphire Rapids VM: 14 GB/s a core with 512-bit loads alone, 16.5 with
// the prefetch; the SSE2 loop this replaced read 9.4).
constexpr int64_t kPrefetchAhead = 256;
}  // namespace peftjs::stream_detail
