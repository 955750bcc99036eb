// Tensor memory that the garbage collector hands back warm. A tensor that is never disposed is
// freed only when V8 collects its ArrayBuffer; with the default allocator that memory goes back to
// the system, and the next result of the same size is fresh memory again: a page fault for every
// 4 KiB page on first touch (a 1024 x 1024 float32 matmul result: ~1,000 faults, ~6 ms of system
// time for a 7 ms product). Buffers made here carry their own deleter, which V8 calls when it frees
// the backing store (during or after a GC, possibly on a background thread), and which puts the
// memory on a free list keyed by size class, so plain code that drops its results reuses warm pages
// as a tidy() scope does. The list is bounded (setBufferPoolLimit); beyond it memory goes to free().
//
// A FinalizationRegistry cannot do this from JavaScript: its callbacks only run between tasks, so a
// synchronous loop never gets a buffer back, and a registry that holds the buffer keeps it alive.
#include <sys/mman.h>
#include <v8.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "modules.h"
#include "napi_util.h"

namespace peftjs {
namespace {

struct FreeLists {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> by_class;
  size_t pooled_bytes = 0;
  size_t limit_bytes = size_t{4096} << 20;
  // Bytes of every buffer V8 has freed so far (for memoryStats: storage collected without release).
  double collected_bytes = 0;
};

// Never destroyed: V8 may free backing stores (and call the deleter) while the process exits.
FreeLists& lists() {
  static FreeLists* instance = new FreeLists();
  return *instance;
}

// Sizes round up to one of 8 classes per power of two (at most 12.5% unused), so results whose
// length varies a little (a batch padded to another length) still find a buffer to reuse.
size_t size_class(size_t bytes) {
  if (bytes <= 64) return 64;
  size_t power = size_t{1} << (63 - __builtin_clzll(bytes));
  size_t step = power >= 512 ? power / 8 : 64;
  return (bytes + step - 1) / step * step;
}

// Buffers of 2 MiB and more are mapped directly, asking for transparent huge pages: the kernel
// then faults in 2 MiB at a time instead of 4 KiB (a 1 B-parameter model's first touch is
// dominated by page faults otherwise), and fresh mappings are zero without a memset.
constexpr size_t kMapBytes = size_t{2} << 20;

void* raw_alloc(size_t cls, bool zeroed) {
  if (cls < kMapBytes) return zeroed ? std::calloc(1, cls) : std::malloc(cls);
  void* p = mmap(nullptr, cls, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  madvise(p, cls, MADV_HUGEPAGE);
#endif
  return p;
}

void raw_free(void* p, size_t cls) {
  if (cls < kMapBytes) {
    std::free(p);
  } else {
    munmap(p, cls);
  }
}

void* take(size_t cls) {
  FreeLists& f = lists();
  std::lock_guard<std::mutex> lock(f.mutex);
  auto it = f.by_class.find(cls);
  if (it == f.by_class.end() || it->second.empty()) return nullptr;
  void* p = it->second.back();
  it->second.pop_back();
  f.pooled_bytes -= cls;
  return p;
}

// The backing store's deleter: V8 calls it once no ArrayBuffer refers to the memory any more.
void give_back(void* data, size_t length, void*) {
  size_t cls = size_class(length);
  FreeLists& f = lists();
  {
    std::lock_guard<std::mutex> lock(f.mutex);
    f.collected_bytes += static_cast<double>(length);
    if (f.pooled_bytes + cls <= f.limit_bytes) {
      f.by_class[cls].push_back(data);
      f.pooled_bytes += cls;
      return;
    }
  }
  raw_free(data, cls);
}

void clear_lists() {
  FreeLists& f = lists();
  std::lock_guard<std::mutex> lock(f.mutex);
  for (auto& entry : f.by_class) {
    for (void* p : entry.second) raw_free(p, entry.first);
  }
  f.by_class.clear();
  f.pooled_bytes = 0;
}

// Node-API has no way to give a backing store a deleter that runs synchronously (its external
// buffers defer the callback to the event loop), so this uses V8's API, as node's own Buffer does;
// a napi_value is a v8::Local's handle (node's v8impl::JsValueFromV8LocalValue).
Napi::Value alloc_buffer(const Napi::CallbackInfo& info) {
  int64_t requested = i64(info[0]);
  bool zeroed = flag(info[1]);
  if (requested <= 0) throw Napi::RangeError::New(info.Env(), "allocBuffer: the size must be positive");
  size_t bytes = static_cast<size_t>(requested);
  size_t cls = size_class(bytes);
  void* data = take(cls);
  if (data != nullptr) {
    if (zeroed) std::memset(data, 0, bytes);
  } else {
    // Fresh pages stay untouched until used (a 1 GB zeros() costs nothing up front).
    data = raw_alloc(cls, zeroed);
    if (data == nullptr) {
      throw Napi::RangeError::New(info.Env(), "allocBuffer: out of memory for " + std::to_string(bytes) + " bytes");
    }
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(data, bytes, give_back, nullptr);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  return Napi::Value(info.Env(), reinterpret_cast<napi_value>(*buffer));
}

}  // namespace

void register_memory(Napi::Env env, Napi::Object exports) {
  exports.Set("allocBuffer", Napi::Function::New(env, alloc_buffer));
  exports.Set("bufferPoolStats", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                FreeLists& f = lists();
                std::lock_guard<std::mutex> lock(f.mutex);
                auto out = Napi::Object::New(info.Env());
                out.Set("pooledBytes", Napi::Number::New(info.Env(), static_cast<double>(f.pooled_bytes)));
                out.Set("limitBytes", Napi::Number::New(info.Env(), static_cast<double>(f.limit_bytes)));
                out.Set("collectedBytes", Napi::Number::New(info.Env(), f.collected_bytes));
                return out;
              }));
  exports.Set("setBufferPoolLimit", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                int64_t limit = i64(info[0]);
                if (limit < 0) throw Napi::RangeError::New(info.Env(), "setBufferPoolLimit: the limit must be >= 0");
                {
                  FreeLists& f = lists();
                  std::lock_guard<std::mutex> lock(f.mutex);
                  f.limit_bytes = static_cast<size_t>(limit);
                }
              }));
  exports.Set("clearBufferPool", Napi::Function::New(env, [](const Napi::CallbackInfo&) { clear_lists(); }));
}

}  // namespace peftjs
