// The chunked Mamba-2 form (ssd_chunked) against the token-by-token reference
// recurrence, and the threaded kernels (kernels.h, the overloads taking a
// pthreadpool) against their single-threaded calls, bit for bit.
#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/kernels_ref.h"
#include "tests/emulation.h"

using namespace eidetic::cpu;

namespace {

std::vector<float> rand_vec(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

// |got - want| <= tol * (|want| + rms(want)) over [rows, width] (rows `stride`
// apart); the rms term absorbs cancellation near zero. Returns the worst
// |got - want| / (|want| + rms).
double check_close(const float* got, const float* want, size_t rows, size_t width, size_t stride, double tol) {
  double ss = 0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < width; ++i) ss += double(want[r * stride + i]) * want[r * stride + i];
  const double rms = std::sqrt(ss / double(rows * width)) + 1e-30;
  size_t bad = 0;
  double worst = 0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < width; ++i) {
      const double g = got[r * stride + i], w = want[r * stride + i];
      const double e = std::fabs(g - w) / (std::fabs(w) + rms);
      worst = e > worst ? e : worst;
      if (!(e <= tol) && ++bad <= 5) MESSAGE("row " << r << " col " << i << ": got " << g << " want " << w);
    }
  CHECK(bad == 0);
  return worst;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Pool {
  explicit Pool(size_t threads) : p(pthreadpool_create(threads)) { REQUIRE(p != nullptr); }
  ~Pool() { pthreadpool_destroy(p); }
  pthreadpool_t p;
};

// Mamba-2 scan inputs with padded rows (strides wider than the data).
struct Ssd {
  size_t n, heads, head_dim, groups, d_state, xs, dts, bs, cs, ys;
  std::vector<float> x, dt, b, c, a, d, state0;
  SsdScanArgs args(size_t t0, size_t len, float* state, float* y) const {
    return {len,         heads,
            head_dim,    groups,
            d_state,     x.data() + t0 * xs,
            xs,          dt.data() + t0 * dts,
            dts,         b.data() + t0 * bs,
            bs,          c.data() + t0 * cs,
            cs,          a.data(),
            d.data(),    state,
            y + t0 * ys, ys};
  }
};

Ssd make_ssd(std::mt19937& rng, size_t n, size_t heads, size_t head_dim, size_t groups, size_t d_state) {
  const size_t width = heads * head_dim, bc = groups * d_state;
  Ssd s{n,         heads, head_dim, groups, d_state, width + 5, heads + 3, bc + 7, bc + 1,
        width + 2, {},    {},       {},     {},      {},        {},        {}};
  s.x = rand_vec(rng, n * s.xs + 16, -2.0f, 2.0f);
  s.dt = rand_vec(rng, n * s.dts + 16, 0.001f, 1.0f);
  s.b = rand_vec(rng, n * s.bs + 16, -1.5f, 1.5f);
  s.c = rand_vec(rng, n * s.cs + 16, -1.5f, 1.5f);
  s.a = rand_vec(rng, heads, -8.0f, -0.01f);
  s.a[0] = -300.0f;                                                       // decay underflows to 0
  if (heads > 1) s.a[1] = -1e-3f;                                         // almost no decay
  for (size_t t = 0; t < n; t += 5) s.dt[t * s.dts + heads - 1] = 1e-4f;  // tiny steps
  s.d = rand_vec(rng, heads, -1.0f, 1.0f);
  s.state0 = rand_vec(rng, width * d_state, -1.0f, 1.0f);
  return s;
}

}  // namespace

// Tolerance: |got - ref| <= 1e-4 * (|ref| + rms(ref)) for every output and
// final-state element, ref = ssd_scan_ref (the recurrence) from the same state.
// Under emulation (tests/emulation.h) the largest sizes and the thread pools
// are left out: every tail the SIMD forms have is reached by the smaller sizes.
TEST_CASE("ssd_chunked agrees with the ssd_scan reference (outputs and final state)") {
  std::mt19937 rng(11);
  constexpr double kTol = 1e-4;
  double worst = 0;
  const bool emulated = eidetic::test::emulated();
  const std::vector<size_t> head_dims = emulated ? std::vector<size_t>{13} : std::vector<size_t>{13, 64};
  const std::vector<size_t> d_states = emulated ? std::vector<size_t>{16, 13} : std::vector<size_t>{16, 13, 128};
  const std::vector<size_t> lengths =
      emulated ? std::vector<size_t>{1, 7, 70} : std::vector<size_t>{1, 7, 64, 100, 300};
  const std::vector<size_t> pool_sizes = emulated ? std::vector<size_t>{} : std::vector<size_t>{2, 3};
  for (size_t groups : {1, 2}) {
    for (size_t head_dim : head_dims) {
      for (size_t d_state : d_states) {
        for (size_t n : lengths) {
          for (size_t chunk : {8, 64}) {
            const size_t heads = 4, width = heads * head_dim;
            CAPTURE(groups);
            CAPTURE(head_dim);
            CAPTURE(d_state);
            CAPTURE(n);
            CAPTURE(chunk);
            const Ssd s = make_ssd(rng, n, heads, head_dim, groups, d_state);
            std::vector<float> ref(n * s.ys, 0.0f), ref_state = s.state0;
            ssd_scan_ref(s.args(0, n, ref_state.data(), ref.data()));

            std::vector<float> scratch(ssd_chunked_scratch_floats(n, heads, head_dim, groups, d_state, chunk) + 16);
            std::vector<float> y0(n * s.ys, 0.0f), st0 = s.state0;
            ssd_chunked_ref(s.args(0, n, st0.data(), y0.data()), chunk, scratch.data());
            worst = std::max(worst, check_close(y0.data(), ref.data(), n, width, s.ys, kTol));
            worst = std::max(worst, check_close(st0.data(), ref_state.data(), 1, st0.size(), st0.size(), kTol));

            // The dispatched form, on one thread and on pools of 2 and 3.
            std::vector<float> y1(n * s.ys, 0.0f), st1 = s.state0;
            ssd_chunked(s.args(0, n, st1.data(), y1.data()), chunk, scratch.data(), nullptr);
            worst = std::max(worst, check_close(y1.data(), ref.data(), n, width, s.ys, kTol));
            worst = std::max(worst, check_close(st1.data(), ref_state.data(), 1, st1.size(), st1.size(), kTol));
            for (size_t threads : pool_sizes) {
              Pool pool(threads);
              std::vector<float> y2(n * s.ys, 0.0f), st2 = s.state0;
              ssd_chunked(s.args(0, n, st2.data(), y2.data()), chunk, scratch.data(), pool.p);
              CHECK(same_bits(y2, y1));
              CHECK(same_bits(st2, st1));
            }
#if defined(EIDETIC_CPU_KERNELS_AVX2)
            if (cpu_has_avx2_fma()) {
              std::vector<float> y3(n * s.ys, 0.0f), st3 = s.state0;
              ssd_chunked_avx2(s.args(0, n, st3.data(), y3.data()), chunk, scratch.data(), nullptr);
              worst = std::max(worst, check_close(y3.data(), ref.data(), n, width, s.ys, kTol));
              worst = std::max(worst, check_close(st3.data(), ref_state.data(), 1, st3.size(), st3.size(), kTol));
            }
            if (cpu_has_avx512f()) {
              std::vector<float> y4(n * s.ys, 0.0f), st4 = s.state0;
              ssd_chunked_avx512(s.args(0, n, st4.data(), y4.data()), chunk, scratch.data(), nullptr);
              worst = std::max(worst, check_close(y4.data(), ref.data(), n, width, s.ys, kTol));
              worst = std::max(worst, check_close(st4.data(), ref_state.data(), 1, st4.size(), st4.size(), kTol));
            }
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
            std::vector<float> y5(n * s.ys, 0.0f), st5 = s.state0;
            ssd_chunked_neon(s.args(0, n, st5.data(), y5.data()), chunk, scratch.data(), nullptr);
            worst = std::max(worst, check_close(y5.data(), ref.data(), n, width, s.ys, kTol));
            worst = std::max(worst, check_close(st5.data(), ref_state.data(), 1, st5.size(), st5.size(), kTol));
#endif
            // Row padding between outputs is left alone.
            size_t touched = 0;
            for (size_t t = 0; t < n; ++t)
              for (size_t i = width; i < s.ys; ++i) touched += y1[t * s.ys + i] != 0.0f;
            CHECK(touched == 0);
          }
        }
      }
    }
  }
  MESSAGE("ssd_chunked: worst scaled difference from the recurrence " << worst);
}

TEST_CASE("ssd_chunked then token-by-token decode continues the recurrence") {
  std::mt19937 rng(12);
  const size_t n = 150, split = 100, heads = 4, head_dim = 16, groups = 2, d_state = 32;
  const Ssd s = make_ssd(rng, n, heads, head_dim, groups, d_state);
  std::vector<float> ref(n * s.ys, 0.0f), ref_state = s.state0;
  ssd_scan_ref(s.args(0, n, ref_state.data(), ref.data()));
  std::vector<float> y(n * s.ys, 0.0f), st = s.state0;
  std::vector<float> scratch(ssd_chunked_scratch_floats(split, heads, head_dim, groups, d_state, 64));
  ssd_chunked(s.args(0, split, st.data(), y.data()), 64, scratch.data(), nullptr);
  for (size_t t = split; t < n; ++t) ssd_scan(s.args(t, 1, st.data(), y.data()));
  check_close(y.data(), ref.data(), n, heads * head_dim, s.ys, 1e-4);
  check_close(st.data(), ref_state.data(), 1, st.size(), st.size(), 1e-4);
}

// ---------------------------------------------------------------- threads
TEST_CASE("threaded kernels give the same bits for 1, 2 and 3 threads") {
  std::mt19937 rng(13);
  Pool pool2(2), pool3(3);
  const pthreadpool_t pools[] = {pool2.p, pool3.p};

  SUBCASE("selective_scan") {
    for (size_t d_inner : {100, 1536}) {
      for (size_t n : {1, 37}) {
        const size_t ds = 16, xs = d_inner + 3, bs = ds + 5;
        CAPTURE(d_inner);
        CAPTURE(n);
        const auto x = rand_vec(rng, n * xs, -2, 2), dt = rand_vec(rng, n * xs, 0.001f, 1.0f);
        const auto z = rand_vec(rng, n * xs, -4, 4), b = rand_vec(rng, n * bs, -1.5f, 1.5f);
        const auto c = rand_vec(rng, n * bs, -1.5f, 1.5f), a = rand_vec(rng, d_inner * ds, -16, -0.01f);
        const auto d = rand_vec(rng, d_inner, -1, 1), state0 = rand_vec(rng, d_inner * ds, -1, 1);
        auto run = [&](pthreadpool_t pool, std::vector<float>& y, std::vector<float>& st) {
          y.assign(n * xs, 0.0f);
          st = state0;
          SelectiveScanArgs p{n,        d_inner, ds,       x.data(), xs,       dt.data(), xs,        b.data(), bs,
                              c.data(), bs,      z.data(), xs,       a.data(), d.data(),  st.data(), y.data(), xs};
          if (pool)
            selective_scan(p, pool);
          else
            selective_scan(p);
        };
        std::vector<float> y1, s1;
        run(nullptr, y1, s1);
        for (pthreadpool_t pool : pools) {
          std::vector<float> y, st;
          run(pool, y, st);
          CHECK(same_bits(y, y1));
          CHECK(same_bits(st, s1));
        }
      }
    }
  }

  SUBCASE("ssd_scan") {
    for (size_t groups : {1, 2}) {
      for (size_t n : {1, 37}) {
        CAPTURE(groups);
        CAPTURE(n);
        const size_t heads = 24, head_dim = 64, d_state = 128;
        const Ssd s = make_ssd(rng, n, heads, head_dim, groups, d_state);
        auto run = [&](pthreadpool_t pool, std::vector<float>& y, std::vector<float>& st) {
          y.assign(n * s.ys, 0.0f);
          st = s.state0;
          if (pool)
            ssd_scan(s.args(0, n, st.data(), y.data()), pool);
          else
            ssd_scan(s.args(0, n, st.data(), y.data()));
        };
        std::vector<float> y1, s1;
        run(nullptr, y1, s1);
        for (pthreadpool_t pool : pools) {
          std::vector<float> y, st;
          run(pool, y, st);
          CHECK(same_bits(y, y1));
          CHECK(same_bits(st, s1));
        }
      }
    }
  }

  SUBCASE("causal_conv1d_silu") {
    for (size_t ch : {100, 1792}) {
      for (size_t n : {1, 64}) {
        CAPTURE(ch);
        CAPTURE(n);
        const size_t k = 4, xs = ch + 9, ys = ch + 2;
        const auto x = rand_vec(rng, n * xs, -2, 2), w = rand_vec(rng, ch * k, -1, 1);
        const auto bias = rand_vec(rng, ch, -0.5f, 0.5f), tail0 = rand_vec(rng, (k - 1) * ch, -2, 2);
        auto run = [&](pthreadpool_t pool, std::vector<float>& y, std::vector<float>& tail) {
          y.assign(n * ys, 0.0f);
          tail = tail0;
          if (pool)
            causal_conv1d_silu(x.data(), xs, n, ch, k, w.data(), bias.data(), tail.data(), y.data(), ys, pool);
          else
            causal_conv1d_silu(x.data(), xs, n, ch, k, w.data(), bias.data(), tail.data(), y.data(), ys);
        };
        std::vector<float> y1, t1;
        run(nullptr, y1, t1);
        for (pthreadpool_t pool : pools) {
          std::vector<float> y, t;
          run(pool, y, t);
          CHECK(same_bits(y, y1));
          CHECK(same_bits(t, t1));
        }
      }
    }
  }

  SUBCASE("rms_norm and gated_rms_norm") {
    for (size_t n : {1, 3, 64}) {
      CAPTURE(n);
      const size_t dim = 1536, xs = dim + 5;
      const auto x = rand_vec(rng, n * xs, -3, 3), z = rand_vec(rng, n * xs, -6, 6);
      const auto w = rand_vec(rng, dim, 0.5f, 1.5f);
      std::vector<float> r1(n * xs, 0.0f), g1(n * xs, 0.0f);
      rms_norm(x.data(), xs, w.data(), 1e-5f, n, dim, r1.data(), xs);
      gated_rms_norm(x.data(), xs, z.data(), xs, w.data(), 1e-5f, n, dim, dim / 2, g1.data(), xs);
      for (pthreadpool_t pool : pools) {
        std::vector<float> r(n * xs, 0.0f), g(n * xs, 0.0f);
        rms_norm(x.data(), xs, w.data(), 1e-5f, n, dim, r.data(), xs, pool);
        gated_rms_norm(x.data(), xs, z.data(), xs, w.data(), 1e-5f, n, dim, dim / 2, g.data(), xs, pool);
        CHECK(same_bits(r, r1));
        CHECK(same_bits(g, g1));
      }
    }
  }
}

// ---------------------------------------------------------------- softplus
TEST_CASE("softplus against double precision") {
  std::vector<float> x;
  for (double v = -120.0; v <= 40.0; v += 1.0 / 512) x.push_back(float(v));
  std::mt19937 rng(14);
  for (float v : rand_vec(rng, 20000, -1.0f, 1.0f)) x.push_back(v * 1e-3f);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f,  -0.0f,  20.0f,   20.000002f, 19.999998f, -17.0f, -16.6f, 88.0f,
                            89.0f, -87.0f, -104.0f, -1e4f,      1e4f,       inf,    -inf};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  auto check = [&](const std::string& name, void (*f)(const float*, size_t, float*)) {
    CAPTURE(name);
    std::vector<float> y(x.size());
    f(x.data(), x.size(), y.data());
    double worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double want = v > 20 ? v : std::log1p(std::exp(v));
      if (std::isinf(want)) {
        bad += !(y[i] == float(want));
        continue;
      }
      // Relative, down to the smallest normal float (below it, absolute).
      const double e = std::fabs(y[i] - want) / std::max(std::fabs(want), 1.17549435e-38);
      worst = std::max(worst, e);
      if (!(e <= 1e-6) && ++bad <= 5) MESSAGE("x=" << x[i] << " got " << y[i] << " want " << want);
    }
    MESSAGE(name << ": worst relative error " << worst);
    CHECK(bad == 0);
    // In place gives the same bits.
    std::vector<float> io = x;
    f(io.data(), io.size(), io.data());
    CHECK(same_bits(io, y));
  };
  check("ref", softplus_ref);
  check("dispatched", softplus);
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma()) check("avx2", softplus_avx2);
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
  check("neon", softplus_neon);
#endif
  float nan_in = std::numeric_limits<float>::quiet_NaN(), nan_out = 0;
  softplus(&nan_in, 1, &nan_out);
  CHECK(std::isnan(nan_out));
}
