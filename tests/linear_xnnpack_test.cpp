// LinearXnnpack against a naive double-precision product on odd shapes.
#include "backends/cpu/linear_xnnpack.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

using eidetic::cpu::LinearXnnpack;

TEST_CASE("LinearXnnpack matches a naive product") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (size_t in : {1, 65}) {
    for (size_t out : {1, 129}) {
      for (bool with_bias : {false, true}) {
        CAPTURE(in);
        CAPTURE(out);
        CAPTURE(with_bias);
        std::vector<float> w(out * in), bias(out);
        for (auto& v : w) v = u(rng);
        for (auto& v : bias) v = u(rng);
        auto lin = LinearXnnpack::create(w.data(), with_bias ? bias.data() : nullptr, in, out);
        REQUIRE(lin.is_ok());
        // XNNPACK packed its own copy: the source may go away (mmap released).
        const std::vector<float> w_kept = w;
        std::fill(w.begin(), w.end(), NAN);

        for (size_t n : {1, 7, 37}) {
          CAPTURE(n);
          std::vector<float> x(n * in + 4);  // + XNN_EXTRA_BYTES of readable slack
          for (auto& v : x) v = u(rng);
          std::vector<float> y(n * out, NAN);
          REQUIRE(lin->run(x.data(), n, y.data()).is_ok());
          size_t bad = 0;
          for (size_t r = 0; r < n; ++r)
            for (size_t o = 0; o < out; ++o) {
              double acc = with_bias ? bias[o] : 0.0;
              for (size_t i = 0; i < in; ++i) acc += double(x[r * in + i]) * w_kept[o * in + i];
              if (!(std::fabs(y[r * out + o] - acc) <= 1e-5 * (1.0 + std::fabs(acc)))) ++bad;
            }
          CHECK(bad == 0);
        }
      }
    }
  }
}

TEST_CASE("LinearXnnpack with strides and a thread pool") {
  const size_t in = 37, out = 65, n = 7, xs = 40, ys = 70;
  std::vector<float> w(out * in), x(n * xs + 4), y(n * ys, -7.0f);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * float(i));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * float(i));
  auto lin = LinearXnnpack::create(w.data(), nullptr, in, out, xs, ys);
  REQUIRE(lin.is_ok());
  pthreadpool_t pool = pthreadpool_create(2);
  REQUIRE(lin->run(x.data(), n, y.data(), pool).is_ok());
  pthreadpool_destroy(pool);
  size_t bad = 0;
  for (size_t r = 0; r < n; ++r) {
    for (size_t o = 0; o < out; ++o) {
      double acc = 0;
      for (size_t i = 0; i < in; ++i) acc += double(x[r * xs + i]) * w[o * in + i];
      bad += !(std::fabs(y[r * ys + o] - acc) <= 1e-5 * (1.0 + std::fabs(acc)));
    }
    for (size_t o = out; o < ys; ++o) bad += y[r * ys + o] != -7.0f;  // padding untouched
  }
  CHECK(bad == 0);
}

TEST_CASE("LinearXnnpack rejects bad arguments") {
  std::vector<float> w(6);
  CHECK_FALSE(LinearXnnpack::create(nullptr, nullptr, 2, 3).is_ok());
  CHECK_FALSE(LinearXnnpack::create(w.data(), nullptr, 0, 3).is_ok());
  CHECK_FALSE(LinearXnnpack::create(w.data(), nullptr, 2, 3, /*x_stride=*/1).is_ok());
}
