#include "modules.h"
#include "nn/args.h"

namespace peftjs {

void register_nn(Napi::Env env, Napi::Object exports) {
  nn::register_row_kernels(env, exports);
  nn::register_attention(env, exports);
  nn::register_paged_attention(env, exports);
}

}  // namespace peftjs
