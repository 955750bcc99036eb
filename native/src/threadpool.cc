#include "threadpool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace peftjs {
namespace {

constexpr std::chrono::microseconds kSpin{200};      // how long a thread waits spinning before it sleeps
constexpr std::chrono::microseconds kPauseSpin{20};  // of which the first part without yielding its core

int default_threads() {
  if (const char* env = std::getenv("PEFTJS_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

// When other processes want the cores, spinning costs more than it saves: the spinner takes time
// the scheduler then denies it when it has work, while a thread that slept gets its core back at
// once when woken. A spinner that finds it lost its core for a while (one round of its loop took
// far longer than a round takes) marks the machine busy for the next kBusyFor, and until then
// threads sleep at once, as a pool without spinning does.
// "A while" is kLostCore: another runnable task holds a core for a scheduler slice (0.75-3 ms), while
// a virtual machine's pauses and short kernel or garbage-collector tasks take tens of microseconds.
// At 50 us those marked a 2-core VM (Zen 3) busy so often that workers slept through most of a
// decode step's jobs: SmolLM2-135M F32 GGUF decode 30-33 -> 36-38 tok/s at 500 us, and the same
// 25-26 tok/s both ways beside a process that keeps one core busy.
std::atomic<int64_t> busy_until_ns{0};
constexpr std::chrono::microseconds kLostCore{500};
constexpr std::chrono::milliseconds kBusyFor{50};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Spins for at most kSpin waiting for ready() (true if it became true), running idle() (which says
// whether it did something) meanwhile. Jobs come in quick succession (a decoding step is a few
// hundred of them, tens of microseconds apart): a thread that spins a little takes the next one at
// once, where waking a sleeping thread costs 5-50 us. After the first kPauseSpin the spinner yields
// its core on every round. Returns false at once while the machine is marked busy.
template <typename Ready, typename Idle>
bool spin_until(const Ready& ready, const Idle& idle) {
  const int64_t start = now_ns();
  if (start < busy_until_ns.load(std::memory_order_relaxed)) return ready();
  int64_t last = start;
  bool yielding = false;
  for (int i = 1;; ++i) {
    if (ready()) return true;
    if (idle()) continue;
    if (yielding) {
      sched_yield();
    } else {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (i % 64 == 0 || yielding) {
      const int64_t now = now_ns();
      if (now - last > std::chrono::nanoseconds(kLostCore).count()) {
        busy_until_ns.store(now + std::chrono::nanoseconds(kBusyFor).count(), std::memory_order_relaxed);
        return ready();
      }
      last = now;
      if (now - start > std::chrono::nanoseconds(kSpin).count()) return false;
      yielding = now - start > std::chrono::nanoseconds(kPauseSpin).count();
    }
  }
}

// A job's tasks are claimed through one 64-bit ticket: the job's generation in the top bits, the next
// task index below; the job's task count is published the same way. A thread claims a task by
// advancing the ticket of the generation it saw, after checking the index against the count of that
// same generation, so a thread that arrives after its job ended (or was preempted mid-claim) claims
// nothing, not even while the next job is being set up.
constexpr int kIndexBits = 40;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
constexpr uint64_t kGenerationMask = (uint64_t(1) << (64 - kIndexBits)) - 1;  // generations wrap around

// The caller runs tasks too, and returns once every task is done, without waiting for workers that
// never got to the job (a preempted worker does not hold the caller up). Workers spin briefly, then
// sleep on a condition variable between jobs; a spinning worker prefetches the range given to
// prefetch(), a piece at a time between checks.
class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    stop_workers();
    stopping_ = false;
    for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void prefetch(const void* p, int64_t bytes) {
    prefetch_base_.store(nullptr, std::memory_order_release);
    prefetch_next_.store(0, std::memory_order_relaxed);
    prefetch_end_.store(bytes, std::memory_order_relaxed);
    prefetch_base_.store(static_cast<const char*>(p), std::memory_order_release);
  }

  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    if (n == 1 || workers_.empty() || in_job_ || uint64_t(n) > kIndexMask) {
      for (int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    in_job_ = true;
    const uint64_t generation = ((tickets_.load(std::memory_order_relaxed) >> kIndexBits) + 1) & kGenerationMask;
    job_.store(&fn, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    job_info_.store(generation << kIndexBits | uint64_t(n), std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tickets_.store(generation << kIndexBits, std::memory_order_release);
      if (sleepers_ > 0) wake_.notify_all();
    }
    work_on(generation);
    const auto finished = [this, n] { return done_.load(std::memory_order_acquire) == n; };
    if (!spin_until(finished, [] { return false; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      finished_.wait(lock, finished);
    }
    in_job_ = false;
  }

 private:
  // Claims and runs tasks of job `generation` until none is left. A claimed task keeps its job
  // unfinished, so job_ and the count stay that job's until the task is done.
  void work_on(uint64_t generation) {
    for (;;) {
      uint64_t ticket = tickets_.load(std::memory_order_acquire);
      const uint64_t info = job_info_.load(std::memory_order_acquire);
      if (ticket >> kIndexBits != generation || info >> kIndexBits != generation) return;
      const uint64_t n = info & kIndexMask, task = ticket & kIndexMask;
      if (task >= n) return;
      if (!tickets_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel)) continue;
      (*job_.load(std::memory_order_relaxed))(static_cast<int64_t>(task));
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<int64_t>(n)) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.notify_one();
      }
    }
  }

  void worker_loop() {
    uint64_t seen = tickets_.load(std::memory_order_acquire) >> kIndexBits;
    for (;;) {
      const auto published = [&] {
        return stopping_.load(std::memory_order_acquire) ||
               tickets_.load(std::memory_order_acquire) >> kIndexBits != seen;
      };
      if (!spin_until(published, [this] { return prefetch_piece(); })) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++sleepers_;
        wake_.wait(lock, published);
        --sleepers_;
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = tickets_.load(std::memory_order_acquire) >> kIndexBits;
      work_on(seen);
    }
  }

  // Prefetches the next piece of the pending range; false when there is none. Prefetch instructions
  // never fault, so a range whose memory was freed meanwhile is harmless.
  bool prefetch_piece() {
    constexpr int64_t kPiece = 4096;
    const char* base = prefetch_base_.load(std::memory_order_acquire);
    if (base == nullptr) return false;
    const int64_t at = prefetch_next_.fetch_add(kPiece, std::memory_order_relaxed);
    const int64_t end = std::min(at + kPiece, prefetch_end_.load(std::memory_order_relaxed));
    if (at >= end) return false;
    // Written out here, not in a helper: GCC deletes calls to functions that only prefetch.
    for (int64_t offset = at; offset < end; offset += 64) __builtin_prefetch(base + offset, 0, 1);
    return true;
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::atomic<const std::function<void(int64_t)>*> job_{nullptr};
  std::atomic<uint64_t> job_info_{0};  // (generation << kIndexBits) | task count
  std::atomic<uint64_t> tickets_{0};   // (generation << kIndexBits) | next task
  std::atomic<int64_t> done_{0};      // tasks of the current job finished
  std::atomic<bool> stopping_{false};
  int sleepers_ = 0;  // workers waiting on wake_ (guarded by mutex_)
  std::atomic<bool> in_job_{false};
  std::atomic<const char*> prefetch_base_{nullptr};  // the range idle workers prefetch
  std::atomic<int64_t> prefetch_next_{0}, prefetch_end_{0};
};

Pool& pool() {
  static Pool instance(default_threads());
  return instance;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(n); }

void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) { pool().run(n, fn); }

void prefetch_async(const void* p, int64_t bytes) { pool().prefetch(p, bytes); }

void parallel_range(int64_t total, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  int64_t chunks = std::min<int64_t>(num_threads(), std::max<int64_t>(1, total / std::max<int64_t>(1, min_chunk)));
  int64_t per = (total + chunks - 1) / chunks;
  parallel_for(chunks, [&](int64_t c) {
    int64_t begin = c * per, end = std::min(total, begin + per);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace peftjs
