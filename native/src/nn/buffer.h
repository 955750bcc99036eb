// A zero-filled, 64-byte aligned scratch array for the nn kernels. Allocate on the calling thread
// (before parallel_for): std::bad_alloc thrown inside a pool task would end the process.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace peftjs::nn {
namespace {

template <typename T>
class Buffer {
 public:
  explicit Buffer(int64_t n) {
    const size_t bytes = (static_cast<size_t>(n > 0 ? n : 1) * sizeof(T) + 63) / 64 * 64;
    data_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(static_cast<void*>(data_), 0, bytes);
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* get() const { return data_; }

 private:
  T* data_;
};

}  // namespace
}  // namespace peftjs::nn
