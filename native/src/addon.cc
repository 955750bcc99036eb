// The peftjs native CPU backend: contiguous buffers and sizes in, buffers out.
#include <napi.h>

#include "modules.h"

namespace peftjs {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  register_info(env, exports);
  register_gemm(env, exports);
  register_nn(env, exports);
  register_elementwise(env, exports);
  register_reduce(env, exports);
  register_index(env, exports);
  register_linalg(env, exports);
  register_quant(env, exports);
  register_stream_read(env, exports);
  register_memory(env, exports);
  register_random(env, exports);
  register_ggml(env, exports);
  register_sgmv(env, exports);
  return exports;
}

}  // namespace peftjs

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return peftjs::init(env, exports); }

NODE_API_MODULE(peftjs, Init)
