#include "cpu.h"
#include "modules.h"
#include "napi_util.h"
#include "threadpool.h"

namespace peftjs {

void register_info(Napi::Env env, Napi::Object exports) {
  exports.Set("simdLevel", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::String::New(info.Env(), simd_name(simd_level()));
              }));
  exports.Set("numThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), num_threads());
              }));
  exports.Set("setNumThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                int n = static_cast<int>(i64(info[0]));
                if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread");
                set_num_threads(n);
              }));
}

}  // namespace peftjs
