// A persistent pool of worker threads. parallel_for runs fn(i) for i in [0, n) on the pool and the
// calling thread together, and returns when all are done. Not reentrant: a task must not call
// parallel_for itself (nested calls run serially on the calling thread).
#pragma once
#include <cstdint>
#include <functional>

namespace peftjs {

// Number of threads parallel_for uses (workers + the caller). Defaults to the CPUs this process
// may run on (sched_getaffinity), overridden by the PEFTJS_NUM_THREADS environment variable.
int num_threads();
void set_num_threads(int n);

void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

// Asks the idle workers to prefetch [p, p + bytes) into the caches (replacing the range asked for
// before), while the caller goes on: a hint for memory the caller will read soon.
void prefetch_async(const void* p, int64_t bytes);

// Splits [0, total) into about num_threads() contiguous chunks of at least min_chunk items and
// runs fn(begin, end) for each: the usual shape for elementwise and row-wise kernels.
void parallel_range(int64_t total, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace peftjs
