// Plane rotations recorded by the bidiagonal QR iteration and applied later, in batches, to the
// rows of the singular-vector matrices. The rows are repacked into narrow column strips, each one
// contiguous, so that a thread keeps its strip of every row in cache (and in few pages) while a
// whole batch of rotations streams past, instead of sweeping all rows once per rotation.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "linalg/blas1.h"
#include "linalg/parallel.h"

namespace peftjs {
namespace linalg {

// Rows (i, j) <- (c row_i + s row_j, c row_j - s row_i).
struct Rotation {
  int32_t i, j;
  double c, s;
};

// Buffers rotations and hands them to `apply` in order, a batch at a time.
class RotationLog {
 public:
  explicit RotationLog(std::function<void(const Rotation*, size_t)> apply) : apply_(std::move(apply)) {}
  void add(int64_t i, int64_t j, double c, double s) {
    log_.push_back({static_cast<int32_t>(i), static_cast<int32_t>(j), c, s});
    if (log_.size() >= kBatch) flush();
  }
  void flush() {
    if (!log_.empty()) apply_(log_.data(), log_.size());
    log_.clear();
  }

 private:
  static constexpr size_t kBatch = size_t(1) << 16;
  std::function<void(const Rotation*, size_t)> apply_;
  std::vector<Rotation> log_;
};

// A copy of `count` rows of `len` values (row stride ld) held as strips of kWidth columns while
// they are rotated; write_back() copies the result into the rows.
template <typename T>
class StripRows {
 public:
  static constexpr int64_t kWidth = 128 / sizeof(T);  // two cache lines per row of a strip

  StripRows(T* rows, int64_t ld, int64_t count, int64_t len)
      : rows_(rows), ld_(ld), count_(count), len_(len), strips_((len + kWidth - 1) / kWidth),
        packed_(static_cast<size_t>(strips_ * count * kWidth), T(0)) {
    copy(true);
  }

  // Applies rotations in order, strips in parallel.
  void apply(const Rotation* r, size_t n) {
    const double flops = 6.0 * static_cast<double>(n) * static_cast<double>(kWidth);
    for_blocks(strips_, 1, flops, [&](int64_t s0, int64_t s1) {
      for (int64_t s = s0; s < s1; ++s) {
        T* strip = packed_.data() + s * count_ * kWidth;
        for (size_t k = 0; k < n; ++k) {
          rot(static_cast<T>(r[k].c), static_cast<T>(r[k].s), strip + r[k].i * kWidth, strip + r[k].j * kWidth, kWidth);
        }
      }
    });
  }

  void write_back() { copy(false); }

 private:
  void copy(bool pack) {
    for (int64_t s = 0; s < strips_; ++s) {
      const int64_t c0 = s * kWidth, width = std::min(kWidth, len_ - c0);
      for (int64_t i = 0; i < count_; ++i) {
        T* strip_row = packed_.data() + (s * count_ + i) * kWidth;
        T* row = rows_ + i * ld_ + c0;
        if (pack) std::copy(row, row + width, strip_row);
        else std::copy(strip_row, strip_row + width, row);
      }
    }
  }

  T* rows_;
  int64_t ld_, count_, len_, strips_;
  std::vector<T> packed_;
};

}  // namespace linalg
}  // namespace peftjs
