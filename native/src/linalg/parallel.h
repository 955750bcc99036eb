// How the linear-algebra kernels share the thread pool: a batch of small matrices runs one
// matrix per task; a few large matrices run one after another, each parallel inside.
#pragma once
#include <cstdint>
#include <functional>

#include "threadpool.h"

namespace peftjs {
namespace linalg {

// Below this many flops a matrix is not worth splitting across threads.
constexpr double kParallelFlops = 4e6;

// Runs fn(b) for b in [0, batch). Kernels called from inside a pool task run serially (the pool
// is not reentrant), so batch-level parallelism turns the inner parallelism off by itself.
inline void for_each_item(int64_t batch, double flops_per_item, const std::function<void(int64_t)>& fn) {
  if (batch > 1 && (batch >= num_threads() || flops_per_item < kParallelFlops)) {
    parallel_for(batch, fn);
  } else {
    for (int64_t b = 0; b < batch; ++b) fn(b);
  }
}

// Runs fn(begin, end) over [0, count) in blocks of `block`, in parallel when the total work
// (count * work_per_item flops) is large enough. Block boundaries never depend on the thread
// count, so results are the same bits on any machine size.
inline void for_blocks(int64_t count, int64_t block, double work_per_item,
                       const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t blocks = (count + block - 1) / block;
  auto run = [&](int64_t i) { fn(i * block, i * block + block < count ? i * block + block : count); };
  if (blocks > 1 && static_cast<double>(count) * work_per_item >= kParallelFlops) {
    parallel_for(blocks, run);
  } else {
    for (int64_t i = 0; i < blocks; ++i) run(i);
  }
}

}  // namespace linalg
}  // namespace peftjs
