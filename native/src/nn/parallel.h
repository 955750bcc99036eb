// How the nn kernels spread work over the thread pool: row loops, deterministic row chunks (for
// per-chunk partial sums), and task queues with one scratch area per worker.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "threadpool.h"

namespace peftjs::nn {
namespace {

constexpr int64_t kMinChunkElems = 16384;  // elements below which splitting a row loop costs more than it saves

// Runs fn(row) for every row in [0, rows), rows of `cols` elements, in contiguous chunks.
template <typename Fn>
void for_rows(int64_t rows, int64_t cols, const Fn& fn) {
  parallel_range(rows, std::max<int64_t>(1, kMinChunkElems / std::max<int64_t>(1, cols)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  });
}

// Splits [0, rows) into chunks that depend only on the sizes and num_threads(), so that sums of
// per-chunk partials come out the same on every run.
struct RowChunks {
  int64_t count, per;
  RowChunks(int64_t rows, int64_t cols) {
    const int64_t by_size = std::max<int64_t>(1, rows * std::max<int64_t>(1, cols) / kMinChunkElems);
    count = std::max<int64_t>(1, std::min<int64_t>({num_threads(), by_size, rows}));
    per = (rows + count - 1) / count;
  }
  // Runs fn(chunk, begin, end) for every chunk.
  template <typename Fn>
  void run(int64_t rows, const Fn& fn) const {
    parallel_for(count, [&](int64_t c) { fn(c, c * per, std::min(rows, (c + 1) * per)); });
  }
};

// Workers to use for `tasks` tasks: one scratch area is allocated per worker.
inline int64_t workers_for(int64_t tasks) { return std::max<int64_t>(1, std::min<int64_t>(num_threads(), tasks)); }

// Runs fn(task, worker) for every task in [0, tasks); tasks are handed out in order, and no two
// calls with the same worker index run at the same time.
template <typename Fn>
void run_tasks(int64_t tasks, int64_t workers, const Fn& fn) {
  std::atomic<int64_t> next{0};
  parallel_for(workers, [&](int64_t w) {
    for (int64_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) fn(t, w);
  });
}

}  // namespace
}  // namespace peftjs::nn
