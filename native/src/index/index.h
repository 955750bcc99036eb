// Indexing, scatter, sort, scan and dropout kernels. Indices are int32 or int64 (template I) and
// already checked to lie in range by the caller (see find_bad_index). Dtype codes are DCode.
#pragma once
#include <cstdint>

namespace peftjs {

// Position of the first index outside [0, n) among count contiguous indices, or -1.
template <typename I>
int64_t find_bad_index(const I* index, int64_t count, int64_t n);

// out[o, j, :] = x[o, index[j], :] over contiguous [outer, n, inner] -> [outer, m, inner]; any element size.
template <typename I>
void index_select(int elem_bytes, const void* x, int64_t outer, int64_t n, int64_t inner, const I* index, int64_t m,
                  void* out);

// dst[o, index[j], :] += src[o, j, :] over contiguous [outer, n, inner] += [outer, m, inner]; race-free.
template <typename I>
void index_add(int dtype, void* dst, int64_t outer, int64_t n, int64_t inner, const I* index, int64_t m,
               const void* src);

// out[p] = x[p with coordinate `dim` replaced by index[p]] for every p in `shape` (the index's
// shape); x strided, index and out contiguous; any element size.
template <typename I>
void gather(int elem_bytes, const void* x, const int64_t* xstrides, const I* index, int ndim, const int64_t* shape,
            int dim, void* out);

// dst[p with coordinate `dim` replaced by index[p]] = (or +=) src[p] for every p in `shape`; dst
// and src strided, index contiguous. Later positions along `dim` win on repeated indices.
template <typename I>
void scatter(int dtype, bool accumulate, void* dst, const int64_t* dstrides, const I* index, const void* src,
             const int64_t* sstrides, int ndim, const int64_t* shape, int dim);

// Stable per-row sort of contiguous [rows, n]: sorted values and their int64 positions; NaN is
// the largest value. dtype: float32, float64, int32, int64.
void sort_rows(int dtype, const void* x, int64_t rows, int64_t n, bool descending, void* values, int64_t* indices);

// The k largest (or smallest) of each row of contiguous [rows, n], sorted, ties by lower position.
void topk_rows(int dtype, const void* x, int64_t rows, int64_t n, int64_t k, bool largest, void* values,
               int64_t* indices);

// out[o, r, i] = sum of x[o, s, i] for s <= r (s >= r if reverse) over contiguous [outer, n, inner];
// floats accumulate in float64, integers in int64. dtype: float32, float64, int32, int64.
void cumsum(int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, bool reverse, void* out);

// out[i] = keep(seed, i) ? x[i] * scale : 0 where keep holds with probability 1 - p, drawn from a
// counter-based hash of (seed, i): the same seed gives the same mask. float32/64, bfloat16, float16.
void dropout(int dtype, const void* x, int64_t n, uint32_t seed, double p, double scale, void* out);

}  // namespace peftjs
