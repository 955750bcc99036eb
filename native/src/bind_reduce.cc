// JS binding of the axis reduction (native/src/reduce/).
#include <stdexcept>

#include "modules.h"
#include "napi_util.h"
#include "reduce/reduce.h"

namespace peftjs {
namespace {

// reduce(op, dtype, x, xOffset, outer, n, inner, out, index: BigInt64Array | null)
void reduce(const Napi::CallbackInfo& info) {
  const int64_t outer = i64(info[4]), n = i64(info[5]), inner = i64(info[6]);
  check_length(info[2], i64(info[3]), outer * n * inner, "reduce input");
  check_length(info[7], 0, outer * inner, "reduce output");
  int64_t* index = nullptr;
  if (!info[8].IsNull() && !info[8].IsUndefined()) {
    check_length(info[8], 0, outer * inner, "reduce index output");
    index = static_cast<int64_t*>(at(info[8], 0));
  }
  try {
    reduce_axis(static_cast<int>(i64(info[0])), static_cast<int>(i64(info[1])), at(info[2], i64(info[3])), outer, n,
                inner, at(info[7], 0), index);
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(info.Env(), std::string("peftjs native: ") + e.what());
  }
}

}  // namespace

void register_reduce(Napi::Env env, Napi::Object exports) { exports.Set("reduce", Napi::Function::New(env, reduce)); }

}  // namespace peftjs
