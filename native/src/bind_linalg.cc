// JS bindings of the linear-algebra kernels (native/src/linalg/). Float buffers are all
// Float32Array or all Float64Array (that picks the precision); offsets are in elements.
#include <string>

#include "linalg/linalg.h"
#include "modules.h"
#include "napi_util.h"

namespace peftjs {
namespace {

// True for Float64Array, false for Float32Array; throws unless every buffer has the same one.
bool is_f64(const Napi::CallbackInfo& info, std::initializer_list<int> args) {
  const auto type = info[*args.begin()].As<Napi::TypedArray>().TypedArrayType();
  if (type != napi_float32_array && type != napi_float64_array) {
    throw Napi::TypeError::New(info.Env(), "peftjs native: linalg needs Float32Array or Float64Array buffers");
  }
  for (int i : args) {
    if (info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
      throw Napi::TypeError::New(info.Env(), "peftjs native: linalg buffers differ in element type");
    }
  }
  return type == napi_float64_array;
}

void check_int32(const Napi::Value& v, int64_t count, const char* what) {
  if (v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(v.Env(), std::string("peftjs native: ") + what + " must be an Int32Array");
  }
  check_length(v, 0, count, what);
}

// svd(a, aOffset, batch, m, n, full, u, s, vh, info)
void svd(const Napi::CallbackInfo& info) {
  const int64_t batch = i64(info[2]), m = i64(info[3]), n = i64(info[4]), k = m < n ? m : n;
  const bool full = flag(info[5]);
  const int64_t ku = full ? m : k, kv = full ? n : k;
  check_length(info[0], i64(info[1]), batch * m * n, "svd input");
  check_length(info[6], 0, batch * m * ku, "svd U");
  check_length(info[7], 0, batch * k, "svd S");
  check_length(info[8], 0, batch * kv * n, "svd Vh");
  check_int32(info[9], batch, "svd info");
  auto* status = ptr<int32_t>(info[9]);
  if (is_f64(info, {0, 6, 7, 8})) {
    linalg::svd(static_cast<const double*>(at(info[0], i64(info[1]))), batch, m, n, full, ptr<double>(info[6]),
                ptr<double>(info[7]), ptr<double>(info[8]), status);
  } else {
    linalg::svd(static_cast<const float*>(at(info[0], i64(info[1]))), batch, m, n, full, ptr<float>(info[6]),
                ptr<float>(info[7]), ptr<float>(info[8]), status);
  }
}

// qr(a, aOffset, batch, m, n, q, r)
void qr(const Napi::CallbackInfo& info) {
  const int64_t batch = i64(info[2]), m = i64(info[3]), n = i64(info[4]), k = m < n ? m : n;
  check_length(info[0], i64(info[1]), batch * m * n, "qr input");
  check_length(info[5], 0, batch * m * k, "qr Q");
  check_length(info[6], 0, batch * k * n, "qr R");
  if (is_f64(info, {0, 5, 6})) {
    linalg::qr(static_cast<const double*>(at(info[0], i64(info[1]))), batch, m, n, ptr<double>(info[5]),
               ptr<double>(info[6]));
  } else {
    linalg::qr(static_cast<const float*>(at(info[0], i64(info[1]))), batch, m, n, ptr<float>(info[5]),
               ptr<float>(info[6]));
  }
}

// luFactor(a, batch, n, piv, info): a is factored in place.
void lu_factor(const Napi::CallbackInfo& info) {
  const int64_t batch = i64(info[1]), n = i64(info[2]);
  check_length(info[0], 0, batch * n * n, "luFactor matrix");
  check_int32(info[3], batch * n, "luFactor pivots");
  check_int32(info[4], batch, "luFactor info");
  if (is_f64(info, {0})) {
    linalg::lu_factor(ptr<double>(info[0]), batch, n, ptr<int32_t>(info[3]), ptr<int32_t>(info[4]));
  } else {
    linalg::lu_factor(ptr<float>(info[0]), batch, n, ptr<int32_t>(info[3]), ptr<int32_t>(info[4]));
  }
}

// luSolve(lu, piv, batch, n, b, k, trans): b is overwritten with the solution.
void lu_solve(const Napi::CallbackInfo& info) {
  const int64_t batch = i64(info[2]), n = i64(info[3]), k = i64(info[5]);
  check_length(info[0], 0, batch * n * n, "luSolve factors");
  check_int32(info[1], batch * n, "luSolve pivots");
  check_length(info[4], 0, batch * n * k, "luSolve right-hand side");
  const bool trans = flag(info[6]);
  if (is_f64(info, {0, 4})) {
    linalg::lu_solve(ptr<double>(info[0]), ptr<int32_t>(info[1]), batch, n, ptr<double>(info[4]), k, trans);
  } else {
    linalg::lu_solve(ptr<float>(info[0]), ptr<int32_t>(info[1]), batch, n, ptr<float>(info[4]), k, trans);
  }
}

// luDet(lu, piv, batch, n, out)
void lu_det(const Napi::CallbackInfo& info) {
  const int64_t batch = i64(info[2]), n = i64(info[3]);
  check_length(info[0], 0, batch * n * n, "luDet factors");
  check_int32(info[1], batch * n, "luDet pivots");
  check_length(info[4], 0, batch, "luDet output");
  if (is_f64(info, {0, 4})) {
    linalg::lu_det(ptr<double>(info[0]), ptr<int32_t>(info[1]), batch, n, ptr<double>(info[4]));
  } else {
    linalg::lu_det(ptr<float>(info[0]), ptr<int32_t>(info[1]), batch, n, ptr<float>(info[4]));
  }
}

}  // namespace

void register_linalg(Napi::Env env, Napi::Object exports) {
  exports.Set("svd", Napi::Function::New(env, svd));
  exports.Set("qr", Napi::Function::New(env, qr));
  exports.Set("luFactor", Napi::Function::New(env, lu_factor));
  exports.Set("luSolve", Napi::Function::New(env, lu_solve));
  exports.Set("luDet", Napi::Function::New(env, lu_det));
}

}  // namespace peftjs
