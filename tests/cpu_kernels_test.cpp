// CPU kernels (backends/cpu/kernels): (a) each reference form against a
// double-precision evaluation of the math written out here, (b) each SIMD form
// against the reference, (c) a sequence run at once equals the same sequence
// fed one token at a time, state and tail included, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/kernels_ref.h"

using namespace eidetic::cpu;

namespace {

constexpr float kPad = 12345.0f;  // fills row padding, which kernels must not touch

std::vector<float> rand_vec(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

double silu(double v) { return v / (1.0 + std::exp(-v)); }

// |got - want| <= tol * (|want| + rms(want)) element by element over the
// [rows, width] region; the rms term absorbs cancellation near zero.
void check_close(const float* got, const float* want, size_t rows, size_t width, size_t stride, double tol) {
  double ss = 0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < width; ++i) ss += double(want[r * stride + i]) * want[r * stride + i];
  const double rms = std::sqrt(ss / double(rows * width)) + 1e-30;
  size_t bad = 0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < width; ++i) {
      const double g = got[r * stride + i], w = want[r * stride + i];
      if (!(std::fabs(g - w) <= tol * (std::fabs(w) + rms))) {
        if (++bad <= 5) MESSAGE("row " << r << " col " << i << ": got " << g << " want " << w);
      }
    }
  CHECK(bad == 0);
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  REQUIRE(got.size() == want.size());
  check_close(got.data(), want.data(), 1, got.size(), got.size(), tol);
}

// Padding columns [width, stride) of each row still hold kPad.
void check_padding(const std::vector<float>& y, size_t rows, size_t width, size_t stride) {
  size_t bad = 0;
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = width; i < stride; ++i) bad += y[r * stride + i] != kPad;
  CHECK(bad == 0);
}

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

[[maybe_unused]] bool have_avx2() {
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  return cpu_has_avx2_fma();
#else
  return false;
#endif
}

}  // namespace

// ---------------------------------------------------------------- vector exp
namespace {

using ExpFn = void (*)(const float*, size_t, float*);

[[maybe_unused]] void check_exp(const char* name, ExpFn exp_form) {
  std::vector<float> x;
  for (double v = -110.0; v <= 90.0; v += 1.0 / 4096) x.push_back(float(v));  // dense sweep
  std::mt19937 rng(1);
  for (float v : rand_vec(rng, 100000, -1.0f, 1.0f)) x.push_back(v * 1e-3f);  // near 0
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f,    -0.0f,   1e-30f,   -1e-30f,  1.0f,    -1.0f, 88.72f, 88.7228f, 88.73f,
                            -87.33f, -87.34f, -103.97f, -103.98f, -150.0f, -1e4f, 1e4f,   inf,      -inf};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  std::vector<float> y(x.size());
  exp_form(x.data(), x.size(), y.data());

  const float fmin = std::numeric_limits<float>::min();
  const float dmin = std::numeric_limits<float>::denorm_min();
  double worst_rel = 0;
  int64_t worst_ulp = 0;
  size_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = float(std::exp(double(x[i])));  // correctly rounded (almost always)
    const float got = y[i];
    if (std::isinf(want) || want == 0.0f) {
      // Past the ends of the range: inf / 0 exactly, or the neighbouring value.
      if (!(got == want || std::fabs(got - want) <= dmin || (std::isinf(want) && got > 3.4e38f)))
        if (++bad <= 5) MESSAGE("x=" << x[i] << " got " << got << " want " << want);
      continue;
    }
    if (want < fmin) {  // subnormal result: within one subnormal step
      if (std::fabs(double(got) - double(want)) > dmin)
        if (++bad <= 5) MESSAGE("x=" << x[i] << " got " << got << " want " << want);
      continue;
    }
    int32_t gi, wi;
    std::memcpy(&gi, &got, 4);
    std::memcpy(&wi, &want, 4);
    const int64_t ulp = std::llabs(int64_t(gi) - int64_t(wi));
    const double rel = std::fabs(double(got) - std::exp(double(x[i]))) / std::exp(double(x[i]));
    worst_ulp = std::max(worst_ulp, ulp);
    worst_rel = std::max(worst_rel, rel);
  }
  MESSAGE(std::string(name) << ": worst " << worst_ulp << " ulp, relative error " << worst_rel);
  CHECK(bad == 0);
  CHECK(worst_ulp <= 2);
  CHECK(worst_rel < 1e-6);
  float nan_in = std::numeric_limits<float>::quiet_NaN(), nan_out = 0;
  exp_form(&nan_in, 1, &nan_out);
  CHECK(std::isnan(nan_out));
}

}  // namespace

#if defined(EIDETIC_CPU_KERNELS_AVX2)
TEST_CASE("exp_avx2 against std::exp over the float range") {
  if (!cpu_has_avx2_fma()) return;
  check_exp("exp_avx2", exp_avx2);
}
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
TEST_CASE("exp_neon against std::exp over the float range") { check_exp("exp_neon", exp_neon); }
#endif

// ---------------------------------------------------------------- RMSNorm
namespace {

using RmsFn = void (*)(const float*, size_t, const float*, float, size_t, size_t, float*, size_t);
using GatedFn = void (*)(const float*, size_t, const float*, size_t, const float*, float, size_t, size_t, size_t,
                         float*, size_t);

}  // namespace

TEST_CASE("rms_norm") {
  std::mt19937 rng(2);
  const float eps = 1e-5f;
  for (size_t dim : {1, 7, 13, 64, 100, 771}) {
    for (size_t n : {1, 37}) {
      for (bool weighted : {false, true}) {
        CAPTURE(dim);
        CAPTURE(n);
        CAPTURE(weighted);
        const size_t xs = dim + 5, ys = dim + 3;
        const auto x = rand_vec(rng, n * xs, -3.0f, 3.0f);
        const auto w = rand_vec(rng, dim, 0.5f, 1.5f);
        const float* wp = weighted ? w.data() : nullptr;

        std::vector<double> want(n * ys, kPad);
        for (size_t t = 0; t < n; ++t) {
          double ss = 0;
          for (size_t i = 0; i < dim; ++i) ss += double(x[t * xs + i]) * x[t * xs + i];
          const double scale = 1.0 / std::sqrt(ss / double(dim) + eps);
          for (size_t i = 0; i < dim; ++i) want[t * ys + i] = x[t * xs + i] * scale * (wp ? double(w[i]) : 1.0);
        }
        std::vector<float> ref(n * ys, kPad);
        rms_norm_ref(x.data(), xs, wp, eps, n, dim, ref.data(), ys);
        check_close(ref.data(), to_float(want).data(), n, dim, ys, 1e-5);
        check_padding(ref, n, dim, ys);

        std::vector<float> fast(n * ys, kPad);
        rms_norm(x.data(), xs, wp, eps, n, dim, fast.data(), ys);  // dispatched
        check_close(fast.data(), ref.data(), n, dim, ys, 1e-5);
        check_padding(fast, n, dim, ys);
#if defined(EIDETIC_CPU_KERNELS_AVX2)
        if (have_avx2()) {
          std::vector<float> v(n * ys, kPad);
          rms_norm_avx2(x.data(), xs, wp, eps, n, dim, v.data(), ys);
          check_close(v.data(), ref.data(), n, dim, ys, 1e-5);
          check_padding(v, n, dim, ys);
        }
#endif
        // In place (y == x) gives the same result.
        std::vector<RmsFn> forms{rms_norm_ref};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
        if (have_avx2()) forms.push_back(rms_norm_avx2);
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
        forms.push_back(rms_norm_neon);
#endif
        for (RmsFn f : forms) {
          std::vector<float> io = x, out(n * xs, kPad);
          f(io.data(), xs, wp, eps, n, dim, io.data(), xs);
          f(x.data(), xs, wp, eps, n, dim, out.data(), xs);
          for (size_t t = 0; t < n; ++t) CHECK(std::memcmp(io.data() + t * xs, out.data() + t * xs, dim * 4) == 0);
        }
      }
    }
  }
}

TEST_CASE("gated_rms_norm") {
  std::mt19937 rng(3);
  const float eps = 1e-6f;
  for (size_t group : {5, 13, 64, 100}) {
    for (size_t groups : {1, 2}) {
      for (size_t n : {1, 37}) {
        const size_t dim = group * groups;
        CAPTURE(group);
        CAPTURE(groups);
        CAPTURE(n);
        const size_t xs = dim + 3, zs = 2 * dim + 1, ys = dim + 7;
        const auto x = rand_vec(rng, n * xs, -3.0f, 3.0f);
        auto z = rand_vec(rng, n * zs, -6.0f, 6.0f);
        z[0] = -120.0f;  // exp(-z) overflows: silu must still be -0
        const auto w = rand_vec(rng, dim, 0.5f, 1.5f);

        std::vector<double> want(n * ys, kPad);
        for (size_t t = 0; t < n; ++t)
          for (size_t g0 = 0; g0 < dim; g0 += group) {
            double ss = 0;
            std::vector<double> g(group);
            for (size_t i = 0; i < group; ++i) {
              g[i] = x[t * xs + g0 + i] * silu(z[t * zs + g0 + i]);
              ss += g[i] * g[i];
            }
            const double scale = 1.0 / std::sqrt(ss / double(group) + eps);
            for (size_t i = 0; i < group; ++i) want[t * ys + g0 + i] = g[i] * scale * w[g0 + i];
          }
        std::vector<float> ref(n * ys, kPad);
        gated_rms_norm_ref(x.data(), xs, z.data(), zs, w.data(), eps, n, dim, group, ref.data(), ys);
        check_close(ref.data(), to_float(want).data(), n, dim, ys, 1e-5);
        check_padding(ref, n, dim, ys);

        std::vector<float> fast(n * ys, kPad);
        gated_rms_norm(x.data(), xs, z.data(), zs, w.data(), eps, n, dim, group, fast.data(), ys);
        check_close(fast.data(), ref.data(), n, dim, ys, 1e-5);
#if defined(EIDETIC_CPU_KERNELS_AVX2)
        if (have_avx2()) {
          std::vector<float> v(n * ys, kPad);
          gated_rms_norm_avx2(x.data(), xs, z.data(), zs, w.data(), eps, n, dim, group, v.data(), ys);
          check_close(v.data(), ref.data(), n, dim, ys, 1e-5);
          check_padding(v, n, dim, ys);
        }
#endif
        // In place: y == x and y == z give the same result.
        std::vector<GatedFn> forms{gated_rms_norm_ref};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
        if (have_avx2()) forms.push_back(gated_rms_norm_avx2);
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
        forms.push_back(gated_rms_norm_neon);
#endif
        for (GatedFn f : forms) {
          std::vector<float> out(n * ys, kPad), xio = x, zio = z;
          f(x.data(), xs, z.data(), zs, w.data(), eps, n, dim, group, out.data(), ys);
          f(xio.data(), xs, z.data(), zs, w.data(), eps, n, dim, group, xio.data(), xs);
          f(x.data(), xs, zio.data(), zs, w.data(), eps, n, dim, group, zio.data(), zs);
          for (size_t t = 0; t < n; ++t) {
            CHECK(std::memcmp(xio.data() + t * xs, out.data() + t * ys, dim * 4) == 0);
            CHECK(std::memcmp(zio.data() + t * zs, out.data() + t * ys, dim * 4) == 0);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- conv1d
namespace {

using ConvFn = void (*)(const float*, size_t, size_t, size_t, size_t, const float*, const float*, float*, float*,
                        size_t);

std::vector<std::pair<const char*, ConvFn>> conv_forms() {
  std::vector<std::pair<const char*, ConvFn>> f{{"ref", causal_conv1d_silu_ref}};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (have_avx2()) f.push_back({"avx2", causal_conv1d_silu_avx2});
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
  f.push_back({"neon", causal_conv1d_silu_neon});
#endif
  return f;
}

}  // namespace

TEST_CASE("causal_conv1d_silu") {
  std::mt19937 rng(4);
  for (size_t ch : {1, 5, 13, 37, 100}) {
    for (size_t k : {1, 2, 3, 4}) {
      for (size_t n : {1, 37}) {
        for (bool with_bias : {false, true}) {
          CAPTURE(ch);
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(with_bias);
          const size_t xs = ch + 9, ys = ch + 2, hist = k - 1;
          const auto x = rand_vec(rng, n * xs, -2.0f, 2.0f);
          const auto w = rand_vec(rng, ch * k, -1.0f, 1.0f);
          const auto bias = rand_vec(rng, ch, -0.5f, 0.5f);
          const auto tail0 = rand_vec(rng, hist * ch, -2.0f, 2.0f);
          const float* bp = with_bias ? bias.data() : nullptr;

          // (a) double-precision evaluation over the sequence "tail0 ++ x".
          std::vector<double> want(n * ys, kPad), want_tail(hist * ch);
          auto in = [&](size_t r, size_t c) {
            return r < hist ? double(tail0[r * ch + c]) : double(x[(r - hist) * xs + c]);
          };
          for (size_t t = 0; t < n; ++t)
            for (size_t c = 0; c < ch; ++c) {
              double acc = bp ? bp[c] : 0.0;
              for (size_t j = 0; j < k; ++j) acc += double(w[c * k + j]) * in(t + j, c);
              want[t * ys + c] = silu(acc);
            }
          for (size_t r = 0; r < hist; ++r)
            for (size_t c = 0; c < ch; ++c) want_tail[r * ch + c] = in(n + r, c);

          std::vector<float> ref(n * ys, kPad), ref_tail = tail0;
          causal_conv1d_silu_ref(x.data(), xs, n, ch, k, w.data(), bp, ref_tail.data(), ref.data(), ys);
          check_close(ref.data(), to_float(want).data(), n, ch, ys, 1e-5);
          CHECK(ref_tail == to_float(want_tail));  // copies: exact
          check_padding(ref, n, ch, ys);

          std::vector<float> disp(n * ys, kPad), disp_tail = tail0;
          causal_conv1d_silu(x.data(), xs, n, ch, k, w.data(), bp, disp_tail.data(), disp.data(), ys);
          check_close(disp.data(), ref.data(), n, ch, ys, 1e-5);

          for (auto [name, f] : conv_forms()) {
            CAPTURE(name);
            // (b) against the reference.
            std::vector<float> all(n * ys, kPad), all_tail = tail0;
            f(x.data(), xs, n, ch, k, w.data(), bp, all_tail.data(), all.data(), ys);
            check_close(all.data(), ref.data(), n, ch, ys, 1e-5);
            CHECK(all_tail == ref_tail);
            check_padding(all, n, ch, ys);
            // (c) token by token through the tail, bit for bit.
            std::vector<float> step(n * ys, kPad), step_tail = tail0;
            for (size_t t = 0; t < n; ++t)
              f(x.data() + t * xs, xs, 1, ch, k, w.data(), bp, step_tail.data(), step.data() + t * ys, ys);
            CHECK(step == all);
            CHECK(step_tail == all_tail);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- Mamba-1 scan
namespace {

struct ScanData {
  size_t n, d_inner, d_state, xs, dts, bs, cs, zs, ys;
  std::vector<float> x, dt, b, c, z, a, d, state0;
};

ScanData make_scan(std::mt19937& rng, size_t n, size_t d_inner, size_t d_state) {
  ScanData s{n,  d_inner, d_state, d_inner + 3, d_inner + 1, d_state + 5, d_state + 2, d_inner + 11, d_inner + 4, {},
             {}, {},      {},      {},          {},          {},          {}};
  s.x = rand_vec(rng, n * s.xs, -2.0f, 2.0f);
  s.dt = rand_vec(rng, n * s.dts, 0.001f, 1.0f);
  s.b = rand_vec(rng, n * s.bs, -1.5f, 1.5f);
  s.c = rand_vec(rng, n * s.cs, -1.5f, 1.5f);
  s.z = rand_vec(rng, n * s.zs, -4.0f, 4.0f);
  s.a = rand_vec(rng, d_inner * d_state, -16.0f, -0.01f);
  for (size_t i = 0; i < s.a.size(); i += 7) s.a[i] = -300.0f;  // exp(dt*a) underflows
  s.d = rand_vec(rng, d_inner, -1.0f, 1.0f);
  s.state0 = rand_vec(rng, d_inner * d_state, -1.0f, 1.0f);
  return s;
}

// Arguments for tokens [t0, t0 + n) of s, on the given state and output.
SelectiveScanArgs scan_args(const ScanData& s, size_t t0, size_t n, float* state, float* y) {
  SelectiveScanArgs a{};
  a.n_tokens = n, a.d_inner = s.d_inner, a.d_state = s.d_state;
  a.x = s.x.data() + t0 * s.xs, a.x_stride = s.xs, a.dt = s.dt.data() + t0 * s.dts, a.dt_stride = s.dts;
  a.b = s.b.data() + t0 * s.bs, a.b_stride = s.bs, a.c = s.c.data() + t0 * s.cs, a.c_stride = s.cs;
  a.z = s.z.data() + t0 * s.zs, a.z_stride = s.zs;
  a.a = s.a.data(), a.d = s.d.data(), a.state = state, a.y = y + t0 * s.ys, a.y_stride = s.ys;
  return a;
}

using ScanFn = void (*)(const SelectiveScanArgs&);

}  // namespace

TEST_CASE("selective_scan") {
  std::mt19937 rng(5);
  for (size_t d_inner : {1, 13, 37, 69}) {
    for (size_t d_state : {16, 64, 5, 13}) {
      for (size_t n : {1, 37}) {
        CAPTURE(d_inner);
        CAPTURE(d_state);
        CAPTURE(n);
        const ScanData s = make_scan(rng, n, d_inner, d_state);

        // (a) double precision, straight from the recurrence.
        std::vector<double> st(s.state0.begin(), s.state0.end()), want(n * s.ys, kPad);
        for (size_t t = 0; t < n; ++t)
          for (size_t dd = 0; dd < d_inner; ++dd) {
            const double x = s.x[t * s.xs + dd], dt = s.dt[t * s.dts + dd];
            double y = 0;
            for (size_t k = 0; k < d_state; ++k) {
              double& sv = st[dd * d_state + k];
              sv = std::exp(dt * s.a[dd * d_state + k]) * sv + dt * s.b[t * s.bs + k] * x;
              y += sv * s.c[t * s.cs + k];
            }
            want[t * s.ys + dd] = (y + s.d[dd] * x) * silu(s.z[t * s.zs + dd]);
          }

        std::vector<float> ref(n * s.ys, kPad), ref_state = s.state0;
        selective_scan_ref(scan_args(s, 0, n, ref_state.data(), ref.data()));
        check_close(ref.data(), to_float(want).data(), n, d_inner, s.ys, 1e-5);
        check_close(ref_state, to_float(st), 1e-5);
        check_padding(ref, n, d_inner, s.ys);

        std::vector<float> disp(n * s.ys, kPad), disp_state = s.state0;
        selective_scan(scan_args(s, 0, n, disp_state.data(), disp.data()));
        check_close(disp.data(), ref.data(), n, d_inner, s.ys, 1e-5);

        std::vector<std::pair<const char*, ScanFn>> forms{{"ref", selective_scan_ref}};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
        if (have_avx2()) forms.push_back({"avx2", selective_scan_avx2});
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
        forms.push_back({"neon", selective_scan_neon});
#endif
        for (auto [name, f] : forms) {
          CAPTURE(name);
          std::vector<float> all(n * s.ys, kPad), all_state = s.state0;
          f(scan_args(s, 0, n, all_state.data(), all.data()));
          check_close(all.data(), ref.data(), n, d_inner, s.ys, 1e-5);
          check_close(all_state, ref_state, 1e-5);
          check_padding(all, n, d_inner, s.ys);
          std::vector<float> step(n * s.ys, kPad), step_state = s.state0;
          for (size_t t = 0; t < n; ++t) f(scan_args(s, t, 1, step_state.data(), step.data()));
          CHECK(step == all);
          CHECK(step_state == all_state);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- Mamba-2 scan
namespace {

struct SsdData {
  size_t n, heads, head_dim, groups, d_state, xs, dts, bs, cs, ys;
  std::vector<float> x, dt, b, c, a, d, state0;
};

SsdData make_ssd(std::mt19937& rng, size_t n, size_t heads, size_t head_dim, size_t groups, size_t d_state) {
  const size_t width = heads * head_dim, bc = groups * d_state;
  SsdData s{n,         heads, head_dim, groups, d_state, width + 5, heads + 3, bc + 7, bc + 1,
            width + 2, {},    {},       {},     {},      {},        {},        {}};
  s.x = rand_vec(rng, n * s.xs, -2.0f, 2.0f);
  s.dt = rand_vec(rng, n * s.dts, 0.001f, 1.0f);
  s.b = rand_vec(rng, n * s.bs, -1.5f, 1.5f);
  s.c = rand_vec(rng, n * s.cs, -1.5f, 1.5f);
  s.a = rand_vec(rng, heads, -8.0f, -0.01f);
  s.a[0] = -300.0f;  // decay underflows
  s.d = rand_vec(rng, heads, -1.0f, 1.0f);
  s.state0 = rand_vec(rng, width * d_state, -1.0f, 1.0f);
  return s;
}

SsdScanArgs ssd_args(const SsdData& s, size_t t0, size_t n, float* state, float* y) {
  SsdScanArgs a{};
  a.n_tokens = n, a.n_heads = s.heads, a.head_dim = s.head_dim, a.n_groups = s.groups, a.d_state = s.d_state;
  a.x = s.x.data() + t0 * s.xs, a.x_stride = s.xs, a.dt = s.dt.data() + t0 * s.dts, a.dt_stride = s.dts;
  a.b = s.b.data() + t0 * s.bs, a.b_stride = s.bs, a.c = s.c.data() + t0 * s.cs, a.c_stride = s.cs;
  a.a = s.a.data(), a.d = s.d.data(), a.state = state, a.y = y + t0 * s.ys, a.y_stride = s.ys;
  return a;
}

using SsdFn = void (*)(const SsdScanArgs&);

}  // namespace

TEST_CASE("ssd_scan") {
  std::mt19937 rng(6);
  for (size_t groups : {1, 2}) {
    for (size_t head_dim : {5, 8, 13, 64}) {
      for (size_t d_state : {16, 64, 13}) {
        for (size_t n : {1, 37}) {
          const size_t heads = 4;
          CAPTURE(groups);
          CAPTURE(head_dim);
          CAPTURE(d_state);
          CAPTURE(n);
          const SsdData s = make_ssd(rng, n, heads, head_dim, groups, d_state);
          const size_t width = heads * head_dim;

          std::vector<double> st(s.state0.begin(), s.state0.end()), want(n * s.ys, kPad);
          for (size_t t = 0; t < n; ++t)
            for (size_t h = 0; h < heads; ++h) {
              const size_t g = h * groups / heads;
              const double dt = s.dt[t * s.dts + h], decay = std::exp(dt * s.a[h]);
              for (size_t i = 0; i < head_dim; ++i) {
                const double x = s.x[t * s.xs + h * head_dim + i];
                double y = 0;
                for (size_t k = 0; k < d_state; ++k) {
                  double& sv = st[(h * head_dim + i) * d_state + k];
                  sv = decay * sv + dt * x * s.b[t * s.bs + g * d_state + k];
                  y += sv * s.c[t * s.cs + g * d_state + k];
                }
                want[t * s.ys + h * head_dim + i] = y + s.d[h] * x;
              }
            }

          std::vector<float> ref(n * s.ys, kPad), ref_state = s.state0;
          ssd_scan_ref(ssd_args(s, 0, n, ref_state.data(), ref.data()));
          check_close(ref.data(), to_float(want).data(), n, width, s.ys, 1e-5);
          check_close(ref_state, to_float(st), 1e-5);
          check_padding(ref, n, width, s.ys);

          std::vector<float> disp(n * s.ys, kPad), disp_state = s.state0;
          ssd_scan(ssd_args(s, 0, n, disp_state.data(), disp.data()));
          check_close(disp.data(), ref.data(), n, width, s.ys, 1e-5);

          std::vector<std::pair<const char*, SsdFn>> forms{{"ref", ssd_scan_ref}};
#if defined(EIDETIC_CPU_KERNELS_AVX2)
          if (have_avx2()) forms.push_back({"avx2", ssd_scan_avx2});
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
          forms.push_back({"neon", ssd_scan_neon});
#endif
          for (auto [name, f] : forms) {
            CAPTURE(name);
            std::vector<float> all(n * s.ys, kPad), all_state = s.state0;
            f(ssd_args(s, 0, n, all_state.data(), all.data()));
            check_close(all.data(), ref.data(), n, width, s.ys, 1e-5);
            check_close(all_state, ref_state, 1e-5);
            check_padding(all, n, width, s.ys);
            std::vector<float> step(n * s.ys, kPad), step_state = s.state0;
            for (size_t t = 0; t < n; ++t) f(ssd_args(s, t, 1, step_state.data(), step.data()));
            CHECK(step == all);
            CHECK(step_state == all_state);
          }
        }
      }
    }
  }
}
