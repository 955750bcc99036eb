#include "modules.h"

namespace peftjs {

void register_nn(Napi::Env, Napi::Object) {}

}  // namespace peftjs
