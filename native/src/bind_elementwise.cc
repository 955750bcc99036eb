// JS bindings of the elementwise kernels (native/src/elementwise/). Offsets are in elements.
#include <stdexcept>

#include "elementwise/elementwise.h"
#include "modules.h"
#include "napi_util.h"

namespace peftjs {
namespace {

void check_same_rank(const Napi::Env& env, const Dims& shape, const Dims& strides) {
  if (shape.n != strides.n) throw Napi::RangeError::New(env, "peftjs native: shape and strides differ in length");
}

// unary(op, dtype, x, xOffset, shape, xStrides, y, s0, s1)
void unary(const Napi::CallbackInfo& info) {
  Dims shape = dims(info[4]), xs = dims(info[5]);
  check_same_rank(info.Env(), shape, xs);
  check_view(info[2], i64(info[3]), shape, xs, "unary input");
  check_length(info[6], 0, numel(shape), "unary output");
  try {
    unary_strided(static_cast<int>(i64(info[0])), static_cast<int>(i64(info[1])), at(info[2], i64(info[3])), shape.n,
                  shape.v, xs.v, at(info[6], 0), f64(info[7]), f64(info[8]));
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(info.Env(), std::string("peftjs native: ") + e.what());
  }
}

// binary(op, dtype, a, aOffset, aStrides, b, bOffset, bStrides, shape, out)
void binary(const Napi::CallbackInfo& info) {
  Dims as = dims(info[4]), bs = dims(info[7]), shape = dims(info[8]);
  check_same_rank(info.Env(), shape, as);
  check_same_rank(info.Env(), shape, bs);
  check_view(info[2], i64(info[3]), shape, as, "binary input a");
  check_view(info[5], i64(info[6]), shape, bs, "binary input b");
  check_length(info[9], 0, numel(shape), "binary output");
  try {
    binary_strided(static_cast<int>(i64(info[0])), static_cast<int>(i64(info[1])), at(info[2], i64(info[3])), as.v,
                   at(info[5], i64(info[6])), bs.v, shape.n, shape.v, at(info[9], 0));
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(info.Env(), std::string("peftjs native: ") + e.what());
  }
}

// where(dtype, cond, cOffset, cStrides, a, aOffset, aStrides, b, bOffset, bStrides, shape, out)
void where(const Napi::CallbackInfo& info) {
  Dims cs = dims(info[3]), as = dims(info[6]), bs = dims(info[9]), shape = dims(info[10]);
  check_view(info[1], i64(info[2]), shape, cs, "where condition");
  check_view(info[4], i64(info[5]), shape, as, "where input a");
  check_view(info[7], i64(info[8]), shape, bs, "where input b");
  check_length(info[11], 0, numel(shape), "where output");
  where_strided(static_cast<int>(i64(info[0])), static_cast<const uint8_t*>(at(info[1], i64(info[2]))), cs.v,
                at(info[4], i64(info[5])), as.v, at(info[7], i64(info[8])), bs.v, shape.n, shape.v, at(info[11], 0));
}

// copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape): same element size.
void copy(const Napi::CallbackInfo& info) {
  Dims ss = dims(info[2]), ds = dims(info[5]), shape = dims(info[6]);
  check_view(info[0], i64(info[1]), shape, ss, "copy source");
  check_view(info[3], i64(info[4]), shape, ds, "copy destination");
  const auto src = info[0].As<Napi::TypedArray>(), dst = info[3].As<Napi::TypedArray>();
  if (src.ElementSize() != dst.ElementSize()) {
    throw Napi::TypeError::New(info.Env(), "peftjs native: copy between different element sizes");
  }
  copy_strided(static_cast<int>(src.ElementSize()), at(info[0], i64(info[1])), ss.v, at(info[3], i64(info[4])), ds.v,
               shape.n, shape.v);
}

// cast(fromDtype, src, srcOffset, toDtype, dst, dstOffset, n)
void cast(const Napi::CallbackInfo& info) {
  const int64_t n = i64(info[6]);
  check_length(info[1], i64(info[2]), n, "cast source");
  check_length(info[4], i64(info[5]), n, "cast destination");
  try {
    cast_contiguous(static_cast<int>(i64(info[0])), at(info[1], i64(info[2])), static_cast<int>(i64(info[3])),
                    at(info[4], i64(info[5])), n);
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(info.Env(), std::string("peftjs native: ") + e.what());
  }
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, unary));
  exports.Set("binary", Napi::Function::New(env, binary));
  exports.Set("where", Napi::Function::New(env, where));
  exports.Set("copyStrided", Napi::Function::New(env, copy));
  exports.Set("cast", Napi::Function::New(env, cast));
}

}  // namespace peftjs
