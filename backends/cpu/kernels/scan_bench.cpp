// Throughput of the scans on the mamba-130m / mamba2-130m shapes: the Mamba-2
// recurrence (ssd_scan) against its chunked form (ssd_chunked) by prompt
// length and chunk length, and every scan on 1 and 2 threads. Not a test.
// One JSON object per line on stdout.
// One thread is timed by its CPU time, two by the wall clock.
//   cpu_scan_bench [--quick]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <vector>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"

using namespace eidetic::cpu;

namespace {

// One thread: this thread's CPU time, which other processes on a shared
// machine disturb less than the wall clock. Several: the wall clock.
double now_s(bool cpu_time) {
  timespec ts;
  clock_gettime(cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double seconds_per_call(const std::function<void()>& f, int rounds, bool cpu_time) {
  f();
  size_t reps = 1;
  for (;;) {
    const double t0 = now_s(cpu_time);
    for (size_t i = 0; i < reps; ++i) f();
    if (now_s(cpu_time) - t0 > 0.03) break;
    reps *= 2;
  }
  std::vector<double> r;
  for (int k = 0; k < rounds; ++k) {
    const double t0 = now_s(cpu_time);
    for (size_t i = 0; i < reps; ++i) f();
    r.push_back((now_s(cpu_time) - t0) / double(reps));
  }
  std::sort(r.begin(), r.end());
  return r.front();  // best round: the machine is shared
}

std::vector<float> rand_vec(size_t n, float lo, float hi) {
  static std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int rounds = quick ? 3 : 7;
  pthreadpool_t pool2 = pthreadpool_create(2);
  using ChunkedFn = void (*)(const SsdScanArgs&, size_t, float*, pthreadpool_t);
  std::vector<std::pair<const char*, ChunkedFn>> forms{{"dispatched", ssd_chunked}};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma()) forms.push_back({"avx2", ssd_chunked_avx2});
  if (cpu_has_avx512f()) forms.push_back({"avx512", ssd_chunked_avx512});
#endif

  {  // Mamba-2: 24 heads × 64, d_state 128, one group.
    const size_t h = 24, hd = 64, ds = 128, w = h * hd, nmax = 512;
    auto x = rand_vec(nmax * w, -2, 2), dt = rand_vec(nmax * h, 0.001f, 0.1f);
    auto b = rand_vec(nmax * ds, -1, 1), c = rand_vec(nmax * ds, -1, 1);
    auto a = rand_vec(h, -8, -1), d = rand_vec(h, -1, 1);
    std::vector<float> state(w * ds), y(nmax * w);
    std::vector<float> scratch(ssd_chunked_scratch_floats(nmax, h, hd, 1, ds, 256));
    for (size_t n : {1, 2, 4, 8, 16, 32, 64, 128, 512}) {
      SsdScanArgs p{n,  h,        hd, 1,        ds,       x.data(),     w,        dt.data(), h, b.data(),
                    ds, c.data(), ds, a.data(), d.data(), state.data(), y.data(), w};
      for (size_t threads : {1, 2}) {
        pthreadpool_t pool = threads > 1 ? pool2 : nullptr;
        const double rec = seconds_per_call([&] { ssd_scan(p, pool); }, rounds, threads == 1);
        std::printf("{\"kernel\":\"ssd_scan\",\"tokens\":%zu,\"threads\":%zu,\"us_per_token\":%.2f}\n", n, threads,
                    rec * 1e6 / double(n));
        if (n < 2) continue;
        for (size_t chunk : {8, 16, 32, 64, 128}) {
          if (chunk > n * 2 || (quick && chunk != 16)) continue;
          for (const auto& [form, f] : forms) {
            const double chk =
                seconds_per_call([&, f = f] { f(p, chunk, scratch.data(), pool); }, rounds, threads == 1);
            std::printf(
                "{\"kernel\":\"ssd_chunked\",\"form\":\"%s\",\"chunk\":%zu,\"tokens\":%zu,"
                "\"threads\":%zu,\"us_per_token\":%.2f,\"speedup_vs_scan\":%.2f}\n",
                form, chunk, n, threads, chk * 1e6 / double(n), rec / chk);
          }
        }
        std::fflush(stdout);
      }
    }
  }
  {  // Mamba-1: d_inner 1536, d_state 16.
    const size_t di = 1536, ds = 16, xp = 48 + 2 * ds;
    for (size_t n : {1, 64}) {
      auto x = rand_vec(n * di, -2, 2), dt = rand_vec(n * di, 0.001f, 0.1f), z = rand_vec(n * di, -3, 3);
      auto bc = rand_vec(n * xp, -1, 1), a = rand_vec(di * ds, -16, -1), d = rand_vec(di, -1, 1);
      std::vector<float> state(di * ds), y(n * di);
      SelectiveScanArgs p{
          n,        di, ds,       x.data(), di,           dt.data(), di, bc.data() + 48, xp, bc.data() + 48 + ds, xp,
          z.data(), di, a.data(), d.data(), state.data(), y.data(),  di};
      for (size_t threads : {1, 2}) {
        const double s =
            seconds_per_call([&] { selective_scan(p, threads > 1 ? pool2 : nullptr); }, rounds, threads == 1);
        std::printf("{\"kernel\":\"selective_scan\",\"tokens\":%zu,\"threads\":%zu,\"us_per_token\":%.2f}\n", n,
                    threads, s * 1e6 / double(n));
      }
    }
  }
  pthreadpool_destroy(pool2);
  return 0;
}
