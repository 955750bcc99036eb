// Entry points of the WebAssembly backend for src/tensor/native/wasm/: the kernels' table (built
// by the same register_* functions as the Node-API addon) and one call for any of them.
#include <emscripten/bind.h>

#include <string>

#include "modules.h"

Napi::Object peftjs_wasm_init(Napi::Env env, Napi::Object exports);  // NODE_API_MODULE in addon.cc

namespace peftjs {

// Tensor memory is JavaScript's own in this backend (src/tensor/native/wasm/memory.ts), so the
// addon's GC-fed free list (bind_memory.cc) has no part here.
void register_memory(Napi::Env, Napi::Object) {}

namespace {

// What call() returns when the kernel threw, so that no real result can be taken for an error;
// lastError() then says which JavaScript error class and message to throw.
emscripten::val& error_marker() {
  static emscripten::val marker = emscripten::val::object();
  return marker;
}
std::string last_class, last_message;

// { name: index into the function table } for every kernel.
emscripten::val kernel_table() {
  Napi::Object exports = Napi::Object::New(Napi::Env());
  peftjs_wasm_init(Napi::Env(), exports);
  return exports.js();
}

emscripten::val call(int index, emscripten::val args) {
  try {
    return Napi::function_table().at(static_cast<size_t>(index))(Napi::CallbackInfo(std::move(args)));
  } catch (const Napi::Error& e) {
    last_class = e.JsClass();
    last_message = e.what();
  } catch (const std::exception& e) {
    last_class = "Error";
    last_message = std::string("peftjs wasm: ") + e.what();
  }
  return error_marker();
}

emscripten::val last_error() {
  emscripten::val e = emscripten::val::object();
  e.set("name", last_class);
  e.set("message", last_message);
  return e;
}

}  // namespace
}  // namespace peftjs

EMSCRIPTEN_BINDINGS(peftjs) {
  emscripten::function("kernelTable", &peftjs::kernel_table);
  emscripten::function("call", &peftjs::call);
  emscripten::function("errorMarker", +[]() { return peftjs::error_marker(); });
  emscripten::function("lastError", &peftjs::last_error);
}
