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

int default_threads() {
  if (const char* env = std::getenv("PEFTJS_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

// Spins for at most `limit` waiting for ready() (true if it became true), running idle() (which says
// whether it did something) meanwhile. Jobs come in quick succession (a decoding step is a few
// hundred of them, tens of microseconds apart): a thread that spins a little takes the next one at
// once, where waking a sleeping thread costs 5-50 us.
template <typename Ready, typename Idle>
bool spin_until(const Ready& ready, std::chrono::microseconds limit, const Idle& idle) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (ready()) return true;
    if (idle()) continue;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 0 && std::chrono::steady_clock::now() - start > limit) return false;
  }
}

constexpr std::chrono::microseconds kSpin{200};

// Workers spin briefly, then sleep on a condition variable between jobs; a job is published by
// bumping `generation`. Tasks are claimed from an atomic counter, so uneven tasks balance themselves.
// A spinning worker prefetches the range given to prefetch(), a piece at a time between checks.
class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    stop_workers();
    stopping_ = false;
    // New workers wait for the job after the current one (no job runs while the pool is resized).
    const uint64_t current = generation_.load();
    for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this, current] { worker_loop(current); });
  }

  void prefetch(const void* p, int64_t bytes) {
    prefetch_base_.store(nullptr, std::memory_order_release);
    prefetch_next_.store(0, std::memory_order_relaxed);
    prefetch_end_.store(bytes, std::memory_order_relaxed);
    prefetch_base_.store(static_cast<const char*>(p), std::memory_order_release);
  }

  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    if (n == 1 || workers_.empty() || in_job_) {
      for (int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      job_size_ = n;
      next_.store(0);
      active_workers_.store(static_cast<int>(workers_.size()));
      generation_.fetch_add(1, std::memory_order_release);
      in_job_ = true;
      if (sleepers_ > 0) wake_.notify_all();
    }
    work_on(fn, n);
    const auto done = [this] { return active_workers_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(done, kSpin, [] { return false; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      finished_.wait(lock, done);
    }
    in_job_ = false;
    job_ = nullptr;
  }

 private:
  void work_on(const std::function<void(int64_t)>& fn, int64_t n) {
    for (int64_t i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) fn(i);
  }

  void worker_loop(uint64_t seen) {
    for (;;) {
      const auto published = [&] {
        return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(published, kSpin, [this] { return prefetch_piece(); })) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++sleepers_;
        wake_.wait(lock, published);
        --sleepers_;
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      work_on(*job_, job_size_);
      if (active_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.notify_one();
      }
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
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_workers_{0};
  std::atomic<uint64_t> generation_{0};
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
