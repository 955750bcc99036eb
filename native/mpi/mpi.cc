// peftjs_mpi: the MPI calls data-parallel training needs (init, rank and size, in-place sum
// all-reduce, broadcast, barrier, finalize, abort), as a Node addon of its own, built only where
// mpi.h is found and loaded only for distributed runs (src/train/distributed/mpi.ts).
//
// One communication thread owns MPI: it calls MPI_Init_thread and every collective, so
// MPI_THREAD_FUNNELED is all the library has to provide (Open MPI and MPICH both do). A collective
// from JavaScript is an AsyncWorker whose Execute (on libuv's pool) hands the call to that thread
// and waits, and whose promise settles on the JavaScript thread: the event loop keeps running while
// the ranks exchange data. Errors return (MPI_ERRORS_RETURN) and reject the promise with MPI's text.
#include <mpi.h>
#include <napi.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

namespace {

// The thread that runs every MPI call, in the order they were submitted.
class CommThread {
 public:
  // Runs `fn` on the thread and returns its MPI error code.
  int run(std::function<int()> fn) {
    std::packaged_task<int()> task(std::move(fn));
    auto result = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return result.get();
  }

  void start() {
    // Never joined nor destroyed: a rank that exits while a peer hangs in a collective must not
    // wait for (or std::terminate on) this thread.
    std::thread([this] { loop(); }).detach();
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<int()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<int()>> queue_;
};

CommThread* comm = nullptr;  // made by init(), kept for the life of the process
int world_rank = -1, world_size = 0, thread_level = 0;
bool finalized = false;

std::string error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, length);
}

void require_ready(const Napi::Env& env) {
  if (comm == nullptr) throw Napi::Error::New(env, "peftjs_mpi: call init() before any collective");
  if (finalized) throw Napi::Error::New(env, "peftjs_mpi: MPI was finalized; no collective can run after finalize()");
}

// init(): MPI_Init_thread on the communication thread (blocks until done); { rank, size, threadLevel, library }.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (comm == nullptr) {
    comm = new CommThread();
    comm->start();
    int rc = comm->run([] {
      int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &thread_level);
      if (rc != MPI_SUCCESS) return rc;
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
      return MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    });
    if (rc != MPI_SUCCESS) throw Napi::Error::New(env, "peftjs_mpi: MPI_Init_thread failed: " + error_text(rc));
  }
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(library, &length);
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", world_rank);
  out.Set("size", world_size);
  out.Set("threadLevel", thread_level);
  out.Set("library", std::string(library, length));
  return out;
}

// A typed array's memory and its MPI element type.
struct Buffer {
  void* data;
  int64_t count;
  MPI_Datatype type;
};

Buffer buffer_of(const Napi::Value& value, bool bytes) {
  if (!value.IsTypedArray()) throw Napi::TypeError::New(value.Env(), "peftjs_mpi: expected a typed array");
  auto array = value.As<Napi::TypedArray>();
  void* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  if (bytes) return {data, static_cast<int64_t>(array.ByteLength()), MPI_BYTE};
  switch (array.TypedArrayType()) {
    case napi_float32_array: return {data, static_cast<int64_t>(array.ElementLength()), MPI_FLOAT};
    case napi_float64_array: return {data, static_cast<int64_t>(array.ElementLength()), MPI_DOUBLE};
    case napi_int32_array: return {data, static_cast<int64_t>(array.ElementLength()), MPI_INT};
    default: throw Napi::TypeError::New(value.Env(), "peftjs_mpi: allReduce sums a Float32Array, Float64Array or Int32Array");
  }
}

// MPI counts are int: a larger buffer goes in pieces of at most this many elements.
constexpr int64_t kMaxPiece = INT_MAX / 8;

// A collective on a buffer (or none: barrier), run on the communication thread; the promise
// settles on the JavaScript thread. The reference keeps the buffer alive until then.
class Collective : public Napi::AsyncWorker {
 public:
  Collective(Napi::Env env, Napi::Value keep, std::function<int()> call)
      : Napi::AsyncWorker(env, "peftjs_mpi"), deferred_(Napi::Promise::Deferred::New(env)), call_(std::move(call)) {
    if (keep.IsObject()) keep_ = Napi::Persistent(keep.As<Napi::Object>());
  }

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    int rc = comm->run(call_);
    if (rc != MPI_SUCCESS) SetError(error_text(rc));
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_;
  std::function<int()> call_;
};

Napi::Value Queue(const Napi::CallbackInfo& info, Napi::Value keep, std::function<int()> call) {
  auto* worker = new Collective(info.Env(), keep, std::move(call));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// allReduce(array): every rank's array becomes the element-wise sum over the ranks (in place).
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  require_ready(info.Env());
  Buffer b = buffer_of(info[0], false);
  return Queue(info, info[0], [b] {
    const int size = b.type == MPI_DOUBLE ? 8 : 4;
    for (int64_t at = 0; at < b.count; at += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, b.count - at));
      int rc = MPI_Allreduce(MPI_IN_PLACE, static_cast<uint8_t*>(b.data) + at * size, n, b.type, MPI_SUM, MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) return rc;
    }
    return static_cast<int>(MPI_SUCCESS);
  });
}

// broadcast(array, root): every rank's array becomes root's bytes.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  require_ready(info.Env());
  Buffer b = buffer_of(info[0], true);
  const int root = info[1].As<Napi::Number>().Int32Value();
  return Queue(info, info[0], [b, root] {
    for (int64_t at = 0; at < b.count; at += kMaxPiece) {
      const int n = static_cast<int>(std::min(kMaxPiece, b.count - at));
      int rc = MPI_Bcast(static_cast<uint8_t*>(b.data) + at, n, MPI_BYTE, root, MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) return rc;
    }
    return static_cast<int>(MPI_SUCCESS);
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  require_ready(info.Env());
  return Queue(info, info.Env().Undefined(), [] { return MPI_Barrier(MPI_COMM_WORLD); });
}

// finalize(): MPI_Finalize on the communication thread (blocks until done); a second call does nothing.
Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (comm != nullptr && !finalized) {
    finalized = true;
    int rc = comm->run([] { return MPI_Finalize(); });
    if (rc != MPI_SUCCESS) throw Napi::Error::New(info.Env(), "peftjs_mpi: MPI_Finalize failed: " + error_text(rc));
  }
  return info.Env().Undefined();
}

// abort(code): MPI_Abort, which ends every rank of the job with `code`. Called from the JavaScript
// thread, not the communication thread, because that one may be blocked in a collective whose peer
// died; Open MPI and MPICH both allow this last call from any thread.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info[0].As<Napi::Number>().Int32Value();
  if (comm != nullptr && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("abort", Napi::Function::New(env, Abort));
  return exports;
}

}  // namespace

NODE_API_MODULE(peftjs_mpi, Register)
