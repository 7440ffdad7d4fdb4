// Throughput of the quantized products (kernels.h: gemm_quant) in each form,
// beside XNNPACK's f32 product and the f16 product (gemm_half), one JSON object per line on stdout. Not a test:
// timings vary with the machine and its load.
//
// Decode (one token) is a matrix-vector product that reads every weight once:
// its figure of merit is GB/s of weights (payload + scales) read. "cached" runs
// one 768 x 2304 matrix again and again (it stays in L2/L3); "streamed" walks
// a ring of such matrices larger than the last-level cache, as decode walks a
// model's layers, so the weights come from DRAM; "read" streams the same ring
// with no arithmetic, the bound for "streamed". Prefill (many tokens) is
// compute-bound: GOP/s, two per multiply-add.
//
// Usage: quant_kernels_bench [rows cols] [ring MiB]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_ref.h"
#include "backends/cpu/linear_xnnpack.h"

using namespace eidetic::cpu;

namespace {

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

std::mt19937 rng(42);

std::vector<float> rand_vec(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

struct Owned {
  std::vector<uint8_t> data;
  std::vector<uint16_t> scales;
  QuantMatrix m{};
  Owned(QuantType type, size_t rows, size_t pc) {
    m.type = type;
    m.rows = rows;
    m.padded_cols = pc;
    data.resize(rows * m.row_bytes());
    std::uniform_int_distribution<int> b(0, 255);
    for (auto& x : data) x = uint8_t(b(rng));
    scales.assign(rows * pc / kQuantGroup, 0x2000);  // 2^-7
    m.data = data.data();
    m.scales = scales.data();
  }
  size_t bytes() const { return data.size() + scales.size() * 2; }
};

struct Form {
  const char* name;
  decltype(&gemm_quant_ref) fn;
};

std::vector<Form> forms() {
  std::vector<Form> f = {{"ref", gemm_quant_ref}};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma()) f.push_back({"avx2", gemm_quant_avx2});
#endif
#if defined(EIDETIC_CPU_KERNELS_AVX512)
  if (cpu_has_avx512_vnni()) f.push_back({"vnni", gemm_quant_vnni});
#endif
  return f;
}

void line(const char* kernel, const char* form, size_t rows, size_t cols, size_t n, const char* mode, double s,
          double bytes) {
  std::printf(
      "{\"kernel\":\"%s\",\"form\":\"%s\",\"rows\":%zu,\"cols\":%zu,\"tokens\":%zu,\"mode\":\"%s\","
      "\"us\":%.2f,\"weight_GBps\":%.2f,\"GOPps\":%.2f}\n",
      kernel, form, rows, cols, n, mode, s * 1e6, bytes / s / 1e9, 2.0 * double(rows * cols * n) / s / 1e9);
  std::fflush(stdout);
}

void bench(size_t rows, size_t cols, size_t ring_mib) {
  const size_t pc = (cols + 31) / 32 * 32;
  // The roofline of "streamed": a plain read of a ring as large, one slice of
  // an f32 matrix's size per call (an integer sum, which the compiler
  // vectorises): the machine's read bandwidth from one thread.
  {
    const size_t slice = rows * cols / 2, count = std::max<size_t>(1, (ring_mib << 20) / (slice * 8));
    std::vector<uint64_t> ring(slice * count, 1);
    size_t k = 0;
    volatile uint64_t sink = 0;
    line("read", "memory", rows, cols, 1, "streamed", seconds_per_call([&] {
           const uint64_t* p = ring.data() + (k++ % count) * slice;
           uint64_t sum = 0;
           for (size_t i = 0; i < slice; ++i) sum += p[i];
           sink = sink + sum;
         }),
         double(slice * 8));
  }
  // f32 XNNPACK for reference: cached, and streamed over a ring.
  {
    const size_t count = std::max<size_t>(1, (ring_mib << 20) / (rows * cols * 4));
    std::vector<std::vector<float>> ws;
    std::vector<LinearXnnpack> ops;
    auto x = rand_vec(512 * cols + 4, -1, 1);
    std::vector<float> y(512 * rows);
    for (size_t i = 0; i < count; ++i) {
      ws.push_back(rand_vec(rows * cols, -1, 1));
      auto op = LinearXnnpack::create(ws.back().data(), nullptr, cols, rows);
      if (!op.is_ok()) return;
      ops.push_back(std::move(op).value());
      ws.back().clear();
      ws.back().shrink_to_fit();
    }
    for (size_t n : {1, 64, 512})
      line("f32_xnnpack", "xnnpack", rows, cols, n, "cached",
           seconds_per_call([&] { (void)ops[0].run(x.data(), n, y.data()); }), double(rows * cols * 4));
    size_t k = 0;
    line("f32_xnnpack", "xnnpack", rows, cols, 1, "streamed",
         seconds_per_call([&] { (void)ops[k++ % count].run(x.data(), 1, y.data()); }), double(rows * cols * 4));
  }
  // f32 weights in place: the row form (decode) and the panel form (prompt), packing included.
  {
    const auto w = rand_vec(rows * cols, -1, 1);
    auto x = rand_vec(512 * cols, -1, 1);
    std::vector<float> y(512 * rows), panels(token_panels_floats(512, cols));
    for (size_t n : {1, 2, 4, 8, 16})
      line("f32", "dispatch", rows, cols, n, "cached",
           seconds_per_call([&] { gemm_f32(w.data(), cols, x.data(), cols, n, 0, rows, nullptr, y.data(), rows); }),
           double(rows * cols * 4));
    for (size_t n : {2, 4, 8, 16, 64, 512})
      line("f32_panels", "dispatch", rows, cols, n, "cached", seconds_per_call([&] {
             pack_token_panels(x.data(), cols, n, cols, panels.data());
             gemm_dense_panels(DenseType::kF32, w.data(), cols, panels.data(), n, 0, rows, nullptr, y.data(), rows);
           }),
           double(rows * cols * 4));
  }
  // f16 weights (gemm_half), f32 activations.
  {
    const size_t count = std::max<size_t>(1, (ring_mib << 20) / (rows * cols * 2));
    std::vector<std::vector<uint16_t>> ring(count, std::vector<uint16_t>(rows * cols, 0x2c00));  // 1/16
    auto x = rand_vec(512 * cols, -1, 1);
    std::vector<float> y(512 * rows);
    const double bytes = double(rows * cols * 2);
    line("f16", "dispatch", rows, cols, 1, "cached", seconds_per_call([&] {
           gemm_half(ring[0].data(), false, cols, x.data(), cols, 1, 0, rows, nullptr, y.data(), rows);
         }),
         bytes);
    size_t k = 0;
    line("f16", "dispatch", rows, cols, 1, "streamed", seconds_per_call([&] {
           gemm_half(ring[k++ % count].data(), false, cols, x.data(), cols, 1, 0, rows, nullptr, y.data(), rows);
         }),
         bytes);
    for (size_t n : {2, 4, 8, 16, 64, 512})
      line("f16", "dispatch", rows, cols, n, "cached", seconds_per_call([&] {
             gemm_half(ring[0].data(), false, cols, x.data(), cols, n, 0, rows, nullptr, y.data(), rows);
           }),
           bytes);
    std::vector<float> panels(token_panels_floats(512, cols));
    for (size_t n : {2, 4, 8, 16, 64, 512})
      line("f16_panels", "dispatch", rows, cols, n, "cached", seconds_per_call([&] {
             pack_token_panels(x.data(), cols, n, cols, panels.data());
             gemm_dense_panels(DenseType::kF16, ring[0].data(), cols, panels.data(), n, 0, rows, nullptr, y.data(),
                               rows);
           }),
           bytes);
  }
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    const char* kernel = type == QuantType::kQ8 ? "q8" : "q4";
    const size_t one = Owned(type, 1, pc).bytes() * rows;
    const size_t count = std::max<size_t>(1, (ring_mib << 20) / one);
    std::vector<Owned> ring;
    for (size_t i = 0; i < count; ++i) ring.emplace_back(type, rows, pc);
    const size_t max_n = 512;
    auto xf = rand_vec(max_n * cols, -1, 1);
    std::vector<int8_t> q(max_n * pc);
    std::vector<float> d(max_n * pc / 32), corr(max_n * pc / 32), y(max_n * rows);
    QuantActs acts{q.data(), d.data(), corr.data()};
    quantize_acts(type, xf.data(), cols, max_n, cols, pc, acts);
    for (const Form& f : forms()) {
      line(kernel, f.name, rows, cols, 1, "cached",
           seconds_per_call([&] { f.fn(ring[0].m, acts, 1, 0, rows, nullptr, y.data(), rows); }), double(one));
      size_t k = 0;
      line(kernel, f.name, rows, cols, 1, "streamed",
           seconds_per_call([&] { f.fn(ring[k++ % count].m, acts, 1, 0, rows, nullptr, y.data(), rows); }),
           double(one));
      for (size_t n : {size_t(2), size_t(4), size_t(8), size_t(16), size_t(64), max_n}) {
        if (std::string(f.name) == "ref" && n > 64) continue;
        line(kernel, f.name, rows, cols, n, "cached",
             seconds_per_call([&] { f.fn(ring[0].m, acts, n, 0, rows, nullptr, y.data(), rows); }), double(one));
      }
    }
    // The panel form, quantization and packing included.
    {
      std::vector<int8_t> pq(max_n * pc);
      std::vector<float> pd(max_n * pc / 32);
      std::vector<int32_t> pcorr(max_n * pc / 32);
      const QuantPanels panels{pq.data(), pd.data(), pcorr.data()};
      for (size_t n : {size_t(2), size_t(4), size_t(8), size_t(16), size_t(64), max_n})
        line(kernel, "panels", rows, cols, n, "cached", seconds_per_call([&] {
               quantize_acts(QuantType::kQ8, xf.data(), cols, n, cols, pc, acts);
               pack_quant_panels(type, acts, n, pc, panels);
               gemm_quant_panels(ring[0].m, panels, n, 0, rows, nullptr, y.data(), rows);
             }),
             double(one));
    }
    // The activation quantization itself, per token.
    line(kernel, "quantize_acts", 1, cols, 64, "cached",
         seconds_per_call([&] { quantize_acts(type, xf.data(), cols, 64, cols, pc, acts); }), double(64 * cols * 4));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const size_t rows = argc > 2 ? size_t(std::atol(argv[1])) : 2304;
  const size_t cols = argc > 2 ? size_t(std::atol(argv[2])) : 768;
  const size_t ring = argc > 3 ? size_t(std::atol(argv[3])) : 1024;
  bench(rows, cols, ring);
  return 0;
}
