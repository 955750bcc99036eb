#include "modules.h"

namespace peftjs {

void register_index(Napi::Env, Napi::Object) {}

}  // namespace peftjs
