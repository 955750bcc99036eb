#include "fma_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu.h"

namespace peftjs {

double fma_peak_gflops(int width_bits, int threads, double seconds) {
  double (*rounds_fn)(int64_t) = nullptr;
#if PEFTJS_X86
  if (width_bits == 128 && simd_level() >= Simd::Avx2) rounds_fn = fma_detail::fma_rounds_128;
  if (width_bits == 256 && simd_level() >= Simd::Avx2) rounds_fn = fma_detail::fma_rounds_256;
  if (width_bits == 512 && simd_level() >= Simd::Avx512) rounds_fn = fma_detail::fma_rounds_512;
#endif
  if (!rounds_fn) return -1;
  using Clock = std::chrono::steady_clock;
  std::atomic<int> ready{0};
  std::vector<double> flops(threads), secs(threads);
  auto work = [&](int t) {
    ready.fetch_add(1);
    while (ready.load() < threads) std::this_thread::yield();  // start together
    const auto start = Clock::now();
    double done = 0, elapsed = 0;
    while (elapsed < seconds) {
      done += rounds_fn(1 << 16);
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    flops[t] = done;
    secs[t] = elapsed;
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  double total = 0;
  for (double f : flops) total += f;
  return total / *std::max_element(secs.begin(), secs.end()) * 1e-9;
}

}  // namespace peftjs
