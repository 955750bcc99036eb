// JS bindings of the index kernels (native/src/index/). Offsets are in elements. Every indexed
// kernel first checks its indices: it returns -1 when it ran, or the position of the first index
// out of range (then it writes nothing), so the caller can name the bad value.
#include <stdexcept>
#include <string>

#include "index/dispatch.h"
#include "index/index.h"
#include "modules.h"
#include "napi_util.h"

namespace peftjs {
namespace {

[[noreturn]] void fail(const Napi::Env& env, const std::string& message) {
  throw Napi::RangeError::New(env, "peftjs native: " + message);
}

void check_dtype(const Napi::Value& arr, int dtype, const char* what) {
  if (static_cast<int>(arr.As<Napi::TypedArray>().ElementSize()) != dtype_bytes(dtype)) {
    fail(arr.Env(), std::string(what) + ": the typed array does not match dtype code " + std::to_string(dtype));
  }
}

void check_layout(const Napi::Env& env, const Dims& shape, const Dims& strides, int dim) {
  if (shape.n != strides.n) fail(env, "shape and strides differ in length");
  if (dim < 0 || dim >= shape.n) fail(env, "dim " + std::to_string(dim) + " out of range");
}

// Calls fn(const I* index) with the index array's element type (Int32Array or BigInt64Array).
template <typename Fn>
Napi::Value with_index(const Napi::Value& arr, int64_t offset, int64_t count, int64_t n, Fn fn) {
  check_length(arr, offset, count, "index");
  auto run = [&](auto* index) -> Napi::Value {
    const int64_t bad = find_bad_index(index, count, n);
    if (bad < 0) {
      try {
        fn(index);
      } catch (const std::invalid_argument& e) {
        throw Napi::TypeError::New(arr.Env(), std::string("peftjs native: ") + e.what());
      }
    }
    return Napi::Number::New(arr.Env(), static_cast<double>(bad));
  };
  switch (arr.As<Napi::TypedArray>().TypedArrayType()) {
    case napi_int32_array: return run(static_cast<const int32_t*>(at(arr, offset)));
    case napi_bigint64_array: return run(static_cast<const int64_t*>(at(arr, offset)));
    default: throw Napi::TypeError::New(arr.Env(), "peftjs native: indices must be an Int32Array or a BigInt64Array");
  }
}

template <typename Fn>
void guarded(const Napi::Env& env, Fn fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, std::string("peftjs native: ") + e.what());
  }
}

// indexSelect(x, xOffset, outer, n, inner, index, indexOffset, m, out) -> bad index position or -1
Napi::Value index_select_js(const Napi::CallbackInfo& info) {
  const int64_t outer = i64(info[2]), n = i64(info[3]), inner = i64(info[4]), m = i64(info[7]);
  check_length(info[0], i64(info[1]), outer * n * inner, "indexSelect input");
  check_length(info[8], 0, outer * m * inner, "indexSelect output");
  const int bytes = static_cast<int>(info[0].As<Napi::TypedArray>().ElementSize());
  if (bytes != static_cast<int>(info[8].As<Napi::TypedArray>().ElementSize())) fail(info.Env(), "indexSelect: element sizes differ");
  return with_index(info[5], i64(info[6]), m, n, [&](auto* index) {
    index_select(bytes, at(info[0], i64(info[1])), outer, n, inner, index, m, at(info[8], 0));
  });
}

// indexAdd(dtype, dst, outer, n, inner, index, indexOffset, m, src, srcOffset) -> bad position or -1
Napi::Value index_add_js(const Napi::CallbackInfo& info) {
  const int dtype = static_cast<int>(i64(info[0]));
  const int64_t outer = i64(info[2]), n = i64(info[3]), inner = i64(info[4]), m = i64(info[7]);
  check_dtype(info[1], dtype, "indexAdd destination");
  check_dtype(info[8], dtype, "indexAdd source");
  check_length(info[1], 0, outer * n * inner, "indexAdd destination");
  check_length(info[8], i64(info[9]), outer * m * inner, "indexAdd source");
  return with_index(info[5], i64(info[6]), m, n, [&](auto* index) {
    index_add(dtype, at(info[1], 0), outer, n, inner, index, m, at(info[8], i64(info[9])));
  });
}

// gather(x, xOffset, xStrides, xDimSize, index, indexOffset, shape, dim, out) -> bad position or -1
Napi::Value gather_js(const Napi::CallbackInfo& info) {
  const Dims xs = dims(info[2]), shape = dims(info[6]);
  const int dim = static_cast<int>(i64(info[7]));
  const int64_t n = i64(info[3]);
  check_layout(info.Env(), shape, xs, dim);
  Dims xshape = shape;
  xshape.v[dim] = n;
  check_view(info[0], i64(info[1]), xshape, xs, "gather input");
  check_length(info[8], 0, numel(shape), "gather output");
  const int bytes = static_cast<int>(info[0].As<Napi::TypedArray>().ElementSize());
  if (bytes != static_cast<int>(info[8].As<Napi::TypedArray>().ElementSize())) fail(info.Env(), "gather: element sizes differ");
  return with_index(info[4], i64(info[5]), numel(shape), n, [&](auto* index) {
    gather(bytes, at(info[0], i64(info[1])), xs.v, index, shape.n, shape.v, dim, at(info[8], 0));
  });
}

// scatter(dtype, accumulate, dst, dstOffset, dstStrides, dstDimSize, index, indexOffset, src, srcOffset,
//         srcStrides, shape, dim) -> bad position or -1
Napi::Value scatter_js(const Napi::CallbackInfo& info) {
  const int dtype = static_cast<int>(i64(info[0]));
  const Dims ds = dims(info[4]), ss = dims(info[10]), shape = dims(info[11]);
  const int dim = static_cast<int>(i64(info[12]));
  const int64_t n = i64(info[5]);
  check_layout(info.Env(), shape, ds, dim);
  check_layout(info.Env(), shape, ss, dim);
  check_dtype(info[2], dtype, "scatter destination");
  check_dtype(info[8], dtype, "scatter source");
  Dims dshape = shape;
  dshape.v[dim] = n;
  check_view(info[2], i64(info[3]), dshape, ds, "scatter destination");
  check_view(info[8], i64(info[9]), shape, ss, "scatter source");
  return with_index(info[6], i64(info[7]), numel(shape), n, [&](auto* index) {
    scatter(dtype, flag(info[1]), at(info[2], i64(info[3])), ds.v, index, at(info[8], i64(info[9])), ss.v, shape.n,
            shape.v, dim);
  });
}

// sort(dtype, x, xOffset, rows, n, descending, values, indices)
void sort_js(const Napi::CallbackInfo& info) {
  const int dtype = static_cast<int>(i64(info[0]));
  const int64_t rows = i64(info[3]), n = i64(info[4]);
  check_dtype(info[1], dtype, "sort input");
  check_dtype(info[6], dtype, "sort values");
  check_length(info[1], i64(info[2]), rows * n, "sort input");
  check_length(info[6], 0, rows * n, "sort values");
  check_dtype(info[7], D_I64, "sort indices");
  check_length(info[7], 0, rows * n, "sort indices");
  guarded(info.Env(), [&] {
    sort_rows(dtype, at(info[1], i64(info[2])), rows, n, flag(info[5]), at(info[6], 0), static_cast<int64_t*>(at(info[7], 0)));
  });
}

// topk(dtype, x, xOffset, rows, n, k, largest, values, indices)
void topk_js(const Napi::CallbackInfo& info) {
  const int dtype = static_cast<int>(i64(info[0]));
  const int64_t rows = i64(info[3]), n = i64(info[4]), k = i64(info[5]);
  if (k < 0 || k > n) fail(info.Env(), "topk: k " + std::to_string(k) + " outside [0, " + std::to_string(n) + "]");
  check_dtype(info[1], dtype, "topk input");
  check_dtype(info[7], dtype, "topk values");
  check_length(info[1], i64(info[2]), rows * n, "topk input");
  check_length(info[7], 0, rows * k, "topk values");
  check_dtype(info[8], D_I64, "topk indices");
  check_length(info[8], 0, rows * k, "topk indices");
  guarded(info.Env(), [&] {
    topk_rows(dtype, at(info[1], i64(info[2])), rows, n, k, flag(info[6]), at(info[7], 0), static_cast<int64_t*>(at(info[8], 0)));
  });
}

// cumsum(dtype, x, xOffset, outer, n, inner, reverse, out)
void cumsum_js(const Napi::CallbackInfo& info) {
  const int dtype = static_cast<int>(i64(info[0]));
  const int64_t outer = i64(info[3]), n = i64(info[4]), inner = i64(info[5]);
  check_dtype(info[1], dtype, "cumsum input");
  check_dtype(info[7], dtype, "cumsum output");
  check_length(info[1], i64(info[2]), outer * n * inner, "cumsum input");
  check_length(info[7], 0, outer * n * inner, "cumsum output");
  guarded(info.Env(), [&] { cumsum(dtype, at(info[1], i64(info[2])), outer, n, inner, flag(info[6]), at(info[7], 0)); });
}

// dropout(dtype, x, xOffset, n, seed, p, scale, out)
void dropout_js(const Napi::CallbackInfo& info) {
  const int dtype = static_cast<int>(i64(info[0]));
  const int64_t n = i64(info[3]);
  check_dtype(info[1], dtype, "dropout input");
  check_dtype(info[7], dtype, "dropout output");
  check_length(info[1], i64(info[2]), n, "dropout input");
  check_length(info[7], 0, n, "dropout output");
  guarded(info.Env(), [&] {
    dropout(dtype, at(info[1], i64(info[2])), n, static_cast<uint32_t>(i64(info[4])), f64(info[5]), f64(info[6]), at(info[7], 0));
  });
}

}  // namespace

void register_index(Napi::Env env, Napi::Object exports) {
  exports.Set("indexSelect", Napi::Function::New(env, index_select_js));
  exports.Set("indexAdd", Napi::Function::New(env, index_add_js));
  exports.Set("gather", Napi::Function::New(env, gather_js));
  exports.Set("scatter", Napi::Function::New(env, scatter_js));
  exports.Set("sort", Napi::Function::New(env, sort_js));
  exports.Set("topk", Napi::Function::New(env, topk_js));
  exports.Set("cumsum", Napi::Function::New(env, cumsum_js));
  exports.Set("dropout", Napi::Function::New(env, dropout_js));
}

}  // namespace peftjs
