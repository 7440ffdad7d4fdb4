// Throughput of the CPU kernels (reference vs AVX2 form) on Mamba-130M-like
// shapes, and of the XNNPACK linear layer. One JSON object per line on stdout.
// Not a test: timings vary with the machine and its load.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_ref.h"
#include "backends/cpu/linear_xnnpack.h"

using namespace eidetic::cpu;

namespace {

// Median over 7 rounds of the mean time per call, each round ~50 ms.
double seconds_per_call(const std::function<void()>& f) {
  f();
  auto now = [] { return std::chrono::steady_clock::now(); };
  size_t reps = 1;
  for (;;) {
    const auto t0 = now();
    for (size_t i = 0; i < reps; ++i) f();
    if (std::chrono::duration<double>(now() - t0).count() > 0.05) break;
    reps *= 2;
  }
  std::vector<double> rounds;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = now();
    for (size_t i = 0; i < reps; ++i) f();
    rounds.push_back(std::chrono::duration<double>(now() - t0).count() / double(reps));
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

std::vector<float> rand_vec(size_t n, float lo, float hi) {
  static std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

void report(const char* kernel, const char* shape, size_t tokens, double ref_s, double simd_s) {
  std::printf(
      "{\"kernel\":\"%s\",\"shape\":\"%s\",\"tokens\":%zu,\"ref_us\":%.2f,"
      "\"avx2_us\":%.2f,\"speedup\":%.2f}\n",
      kernel, shape, tokens, ref_s * 1e6, simd_s * 1e6, ref_s / simd_s);
}

void bench_selective_scan(size_t n) {
  const size_t di = 1536, ds = 16, xp = 48 + 2 * ds;  // x_proj output: dt_rank | B | C
  auto x = rand_vec(n * di, -2, 2), dt = rand_vec(n * di, 0.001f, 0.1f), z = rand_vec(n * di, -3, 3);
  auto bc = rand_vec(n * xp, -1, 1), a = rand_vec(di * ds, -16, -1), d = rand_vec(di, -1, 1);
  std::vector<float> state(di * ds), y(n * di);
  SelectiveScanArgs p{
      n,        di, ds,       x.data(), di,           dt.data(), di, bc.data() + 48, xp, bc.data() + 48 + ds, xp,
      z.data(), di, a.data(), d.data(), state.data(), y.data(),  di};
  const double ref = seconds_per_call([&] { selective_scan_ref(p); });
  double simd = ref;
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma()) simd = seconds_per_call([&] { selective_scan_avx2(p); });
#endif
  report("selective_scan", "d_inner=1536,d_state=16", n, ref, simd);
}

void bench_ssd_scan(size_t n) {
  const size_t h = 24, hd = 64, ds = 128, w = h * hd;
  auto x = rand_vec(n * w, -2, 2), dt = rand_vec(n * h, 0.001f, 0.1f);
  auto b = rand_vec(n * ds, -1, 1), c = rand_vec(n * ds, -1, 1);
  auto a = rand_vec(h, -8, -1), d = rand_vec(h, -1, 1);
  std::vector<float> state(w * ds), y(n * w);
  SsdScanArgs p{n,  h,        hd, 1,        ds,       x.data(),     w,        dt.data(), h, b.data(),
                ds, c.data(), ds, a.data(), d.data(), state.data(), y.data(), w};
  const double ref = seconds_per_call([&] { ssd_scan_ref(p); });
  double simd = ref;
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma()) simd = seconds_per_call([&] { ssd_scan_avx2(p); });
#endif
  report("ssd_scan", "heads=24,head_dim=64,d_state=128", n, ref, simd);
}

void bench_conv(size_t n) {
  const size_t ch = 1536, k = 4;
  auto x = rand_vec(n * ch, -2, 2), w = rand_vec(ch * k, -1, 1), bias = rand_vec(ch, -1, 1);
  std::vector<float> tail(3 * ch), y(n * ch);
  const double ref = seconds_per_call(
      [&] { causal_conv1d_silu_ref(x.data(), ch, n, ch, k, w.data(), bias.data(), tail.data(), y.data(), ch); });
  double simd = ref;
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma())
    simd = seconds_per_call(
        [&] { causal_conv1d_silu_avx2(x.data(), ch, n, ch, k, w.data(), bias.data(), tail.data(), y.data(), ch); });
#endif
  report("causal_conv1d_silu", "channels=1536,k=4", n, ref, simd);
}

void bench_norms(size_t n) {
  const size_t dim = 1536;
  auto x = rand_vec(n * dim, -2, 2), z = rand_vec(n * dim, -2, 2), w = rand_vec(dim, 0.5f, 1.5f);
  std::vector<float> y(n * dim);
  double ref = seconds_per_call([&] { rms_norm_ref(x.data(), dim, w.data(), 1e-5f, n, dim, y.data(), dim); });
  double simd = ref;
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma())
    simd = seconds_per_call([&] { rms_norm_avx2(x.data(), dim, w.data(), 1e-5f, n, dim, y.data(), dim); });
#endif
  report("rms_norm", "dim=1536", n, ref, simd);
  ref = seconds_per_call(
      [&] { gated_rms_norm_ref(x.data(), dim, z.data(), dim, w.data(), 1e-5f, n, dim, dim, y.data(), dim); });
  simd = ref;
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma())
    simd = seconds_per_call(
        [&] { gated_rms_norm_avx2(x.data(), dim, z.data(), dim, w.data(), 1e-5f, n, dim, dim, y.data(), dim); });
#endif
  report("gated_rms_norm", "dim=1536,groups=1", n, ref, simd);
}

void bench_linear(size_t in, size_t out, size_t n, size_t threads) {
  auto w = rand_vec(in * out, -1, 1), x = rand_vec(n * in + 4, -1, 1);
  std::vector<float> y(n * out);
  auto lin = LinearXnnpack::create(w.data(), nullptr, in, out);
  if (!lin.is_ok()) {
    std::fprintf(stderr, "%s\n", lin.status().message().c_str());
    return;
  }
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  const double s = seconds_per_call([&] { (void)lin->run(x.data(), n, y.data(), pool); });
  if (pool) pthreadpool_destroy(pool);
  std::printf(
      "{\"kernel\":\"linear_xnnpack_f32\",\"in\":%zu,\"out\":%zu,\"batch\":%zu,"
      "\"threads\":%zu,\"us\":%.2f,\"weight_GBps\":%.2f,\"GFLOPps\":%.2f}\n",
      in, out, n, threads, s * 1e6, double(in * out * 4) / s / 1e9, 2.0 * in * out * n / s / 1e9);
}

}  // namespace

int main() {
  for (size_t n : {1, 512}) bench_selective_scan(n);
  for (size_t n : {1, 512}) bench_ssd_scan(n);
  for (size_t n : {1, 512}) bench_conv(n);
  for (size_t n : {1, 512}) bench_norms(n);
  // The 7 MB matrix is re-read call after call, so it is served from the
  // last-level cache, not DRAM: an upper bound for a model's decode.
  for (size_t threads : {1, 2})
    for (size_t n : {1, 8, 512}) bench_linear(768, 2304, n, threads);
  return 0;
}
