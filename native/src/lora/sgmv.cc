// See sgmv.h.
#include "lora/sgmv.h"

#include <cstring>
#include <vector>

#include "threadpool.h"

namespace peftjs::lora {
namespace {

// Segments of at most this many rows (x T positions) go to the threads one segment each; larger ones
// run one after another, each product threaded inside.
constexpr int64_t kSmallSegmentRows = 64;

// Whether rows[0..count) are consecutive (x's rows can then be read in place, no gather).
bool consecutive(const int32_t* rows, int64_t count) {
  for (int64_t i = 1; i < count; ++i) {
    if (rows[i] != rows[0] + i) return false;
  }
  return true;
}

// One segment's update, its products threaded (or not, inside another task: `serial`). The same
// sgemm calls either way, so the same bits.
void apply_segment(const float* x, float* out, int64_t T, int64_t in, int64_t out_features, const SgmvSegment& seg,
                   bool serial) {
  thread_local std::vector<float> gathered, shrunk, expanded;
  auto product = [serial](int64_t M, int64_t N, int64_t K, const float* a, const void* b, BType bt, float* c) {
    if (serial) return sgemm_serial(false, true, M, N, K, 1.0f, a, K, b, bt, K, 0.0f, c, N);
    sgemm(false, true, M, N, K, 1.0f, a, K, 0, b, bt, K, 0, 0.0f, c, N, 0, 1);
  };
  const int64_t M = seg.count * T;
  const float* xs = x + static_cast<int64_t>(seg.rows[0]) * T * in;
  if (!consecutive(seg.rows, seg.count)) {
    gathered.resize(static_cast<size_t>(M * in));
    for (int64_t i = 0; i < seg.count; ++i) {
      std::memcpy(gathered.data() + i * T * in, x + static_cast<int64_t>(seg.rows[i]) * T * in, sizeof(float) * T * in);
    }
    xs = gathered.data();
  }
  // Shrink: h = x_rows A_sᵀ, then scaled on the narrow [M, rank] side as the per-adapter path does.
  shrunk.resize(static_cast<size_t>(M * seg.rank));
  product(M, seg.rank, in, xs, seg.a, seg.a_type, shrunk.data());
  for (float& v : shrunk) v *= seg.scale;
  // Expand: d = h B_sᵀ, added into the segment's rows of out.
  expanded.resize(static_cast<size_t>(M * out_features));
  product(M, out_features, seg.rank, shrunk.data(), seg.b, seg.b_type, expanded.data());
  for (int64_t i = 0; i < seg.count; ++i) {
    float* o = out + static_cast<int64_t>(seg.rows[i]) * T * out_features;
    const float* d = expanded.data() + i * T * out_features;
    for (int64_t j = 0; j < T * out_features; ++j) o[j] += d[j];
  }
}

}  // namespace

// A decode step's segments are a row or two each: one product per segment is far too small to share
// between threads, and one thread alone reading every adapter's A and B (8 r16 adapters on GPT-2: 75 MB
// a step) was bound by one core's memory bandwidth. So small segments run one per task; segments
// write disjoint rows of out.
void sgmv_lora(const float* x, float* out, int64_t T, int64_t in, int64_t out_features, const SgmvSegment* segments,
               int64_t count) {
  std::vector<const SgmvSegment*> live;
  bool small = true;
  for (int64_t s = 0; s < count; ++s) {
    if (segments[s].count == 0) continue;
    live.push_back(segments + s);
    small = small && segments[s].count * T <= kSmallSegmentRows;
  }
  const int64_t n = static_cast<int64_t>(live.size());
  if (n > 1 && small) {
    return parallel_for(n, [&](int64_t s) { apply_segment(x, out, T, in, out_features, *live[s], true); });
  }
  // A single small segment (every stream on one adapter) runs on this thread alone: its products are
  // too small to share (16 rows of GPT-2's four LoRA layers x 12: 2.4 ms a step threaded, 1.95 alone).
  for (const SgmvSegment* seg : live) apply_segment(x, out, T, in, out_features, *seg, small);
}

}  // namespace peftjs::lora
