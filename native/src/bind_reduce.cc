#include "modules.h"

namespace peftjs {

void register_reduce(Napi::Env, Napi::Object) {}

}  // namespace peftjs
