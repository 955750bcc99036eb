// Elementwise kernels over strided inputs with a contiguous output.
#pragma once
#include <cstdint>

namespace peftjs {

// Element types the elementwise kernels handle; same codes as src/tensor/dtype.ts.
enum DCode : int { D_F32 = 0, D_F64 = 1, D_BF16 = 2, D_F16 = 3, D_I32 = 4, D_I64 = 5, D_U8 = 6, D_BOOL = 7 };

// y[i] = op(x[...]) for float32/float64/int32/int64 (int types: a subset of ops).
void unary_strided(int op, int dtype, const void* x, int ndim, const int64_t* shape, const int64_t* xstrides, void* y,
                   double s0, double s1);

// out[i] = op(a[...], b[...]); comparisons and logical ops write uint8.
void binary_strided(int op, int dtype, const void* a, const int64_t* astrides, const void* b, const int64_t* bstrides,
                    int ndim, const int64_t* shape, void* out);

// out[i] = cond[...] ? a[...] : b[...].
void where_strided(int dtype, const uint8_t* cond, const int64_t* cstrides, const void* a, const int64_t* astrides,
                   const void* b, const int64_t* bstrides, int ndim, const int64_t* shape, void* out);

// Copies a strided view into a strided destination (element size 1, 2, 4 or 8 bytes).
void copy_strided(int elem_bytes, const void* src, const int64_t* sstrides, void* dst, const int64_t* dstrides, int ndim,
                  const int64_t* shape);

// Converts n contiguous elements between any two dtypes (bf16/f16 round to nearest even).
void cast_contiguous(int from, const void* src, int to, void* dst, int64_t n);

}  // namespace peftjs
