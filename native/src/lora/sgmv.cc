// See sgmv.h.
#include "lora/sgmv.h"

#include <cstring>
#include <vector>

namespace peftjs::lora {
namespace {

// Whether rows[0..count) are consecutive (x's rows can then be read in place, no gather).
bool consecutive(const int32_t* rows, int64_t count) {
  for (int64_t i = 1; i < count; ++i) {
    if (rows[i] != rows[0] + i) return false;
  }
  return true;
}

}  // namespace

void sgmv_lora(const float* x, float* out, int64_t T, int64_t in, int64_t out_features, const SgmvSegment* segments,
               int64_t count) {
  std::vector<float> gathered, shrunk, expanded;
  for (int64_t s = 0; s < count; ++s) {
    const SgmvSegment& seg = segments[s];
    if (seg.count == 0) continue;
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
    sgemm(false, true, M, seg.rank, in, 1.0f, xs, in, 0, seg.a, seg.a_type, in, 0, 0.0f, shrunk.data(), seg.rank, 0, 1);
    for (float& v : shrunk) v *= seg.scale;
    // Expand: d = h B_sᵀ, added into the segment's rows of out.
    expanded.resize(static_cast<size_t>(M * out_features));
    sgemm(false, true, M, out_features, seg.rank, 1.0f, shrunk.data(), seg.rank, 0, seg.b, seg.b_type, seg.rank, 0, 0.0f,
          expanded.data(), out_features, 0, 1);
    for (int64_t i = 0; i < seg.count; ++i) {
      float* o = out + static_cast<int64_t>(seg.rows[i]) * T * out_features;
      const float* d = expanded.data() + i * T * out_features;
      for (int64_t j = 0; j < T * out_features; ++j) o[j] += d[j];
    }
  }
}

}  // namespace peftjs::lora
