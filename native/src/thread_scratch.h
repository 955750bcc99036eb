// A 64-byte-aligned scratch buffer for one thread, grown on demand and freed when the thread ends.
// Each user keeps its own `thread_local ThreadScratch` slots, so the slots of different kernels
// never alias (the quantised linear hands its dequantised slab to the GEMM, which uses its own).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

namespace peftjs {

class ThreadScratch {
 public:
  ThreadScratch() = default;
  ThreadScratch(const ThreadScratch&) = delete;
  ThreadScratch& operator=(const ThreadScratch&) = delete;
  ~ThreadScratch() { std::free(data_); }

  /** At least `bytes` bytes, 64-byte aligned; earlier contents are not kept when it grows. */
  void* reserve(size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (bytes_ < bytes) {
      std::free(data_);
      data_ = std::aligned_alloc(64, bytes);
      bytes_ = data_ ? bytes : 0;
      if (!data_) throw std::bad_alloc();
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace peftjs
