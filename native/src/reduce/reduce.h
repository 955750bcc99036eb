// Reductions of a contiguous [outer, n, inner] buffer over its middle axis into [outer, inner].
#pragma once
#include <cstdint>

namespace peftjs {

enum ReduceOp : int { R_SUM = 0, R_SUMSQ = 1, R_PROD = 2, R_MAX = 3, R_MIN = 4, R_ANY = 5, R_ALL = 6 };

// Float32 sums accumulate in float32 lanes (blocked, like PyTorch), float64 in float64.
// R_MAX/R_MIN also write the index of the first extreme value (or NaN) into `index` if not null.
void reduce_axis(int op, int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, void* out, int64_t* index);

}  // namespace peftjs
