// Which matrix a few-row product reads after another. Decoding runs the same matrix-vector products
// in the same order for every token, each streaming its weights from memory, with the other
// operations of the step in between. Remembering which B followed which lets the caller have the
// next one prefetched while those other operations run.
#pragma once
#include <cstdint>

namespace peftjs {

class NextOperand {
 public:
  struct Next {
    const void* b = nullptr;  // null: not known
    int64_t bytes = 0;
  };

  // Notes that the product on b (reading `bytes` from it) came after the one noted before.
  void note(const void* b, int64_t bytes) {
    if (last_ != nullptr) table_[slot(last_)] = {last_, {b, bytes}};
    last_ = b;
  }

  // The B that came after b last time.
  Next after(const void* b) const {
    const Entry& e = table_[slot(b)];
    return e.key == b ? e.next : Next{};
  }

 private:
  struct Entry {
    const void* key = nullptr;
    Next next;
  };
  // Direct-mapped: a collision forgets the older pair, which only costs a prefetch.
  static constexpr int kBits = 9;
  static int slot(const void* p) {
    return static_cast<int>((reinterpret_cast<uintptr_t>(p) >> 6) * 0x9E3779B97F4A7C15ull >> (64 - kBits));
  }
  Entry table_[1 << kBits];
  const void* last_ = nullptr;
};

}  // namespace peftjs
