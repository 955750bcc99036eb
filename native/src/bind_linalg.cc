#include "modules.h"

namespace peftjs {

void register_linalg(Napi::Env, Napi::Object) {}

}  // namespace peftjs
