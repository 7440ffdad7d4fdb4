// Dense products (kernels.h: gemm_f32, pack_token_panels, gemm_dense_panels):
// the panel layout against its definition, and every form of the products
// against a double-precision product, over shapes that reach every tail of
// the tiles (rows past the 6-row tiles, tokens past 16- and 64-token groups,
// columns past the widening chunk of f16 / bf16 rows), row sub-ranges and
// strided outputs whose padding stays intact.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/kernels_ref.h"

using namespace eidetic::cpu;

namespace {

constexpr float kPad = 12345.0f;

std::vector<float> rand_vec(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

// Weight element as a double, by arithmetic on the bits (independent of half.h).
double weight_value(DenseType type, const void* w, size_t i) {
  if (type == DenseType::kF32) return static_cast<const float*>(w)[i];
  const uint16_t h = static_cast<const uint16_t*>(w)[i];
  if (type == DenseType::kBF16) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  const double v = exp == 0 ? std::ldexp(double(mant), -24) : std::ldexp(double(1024 + mant), exp - 25);
  return (h & 0x8000) ? -v : v;
}

// Random weights of `type`, magnitudes about 2^-6 .. 2^1, either sign.
std::vector<uint8_t> rand_weights(std::mt19937& rng, DenseType type, size_t count) {
  std::vector<uint8_t> bytes(count * (type == DenseType::kF32 ? 4 : 2));
  std::uniform_int_distribution<int> sign(0, 1), ex(-6, 1);
  if (type == DenseType::kF32) {
    std::uniform_real_distribution<float> m(1.0f, 2.0f);
    for (size_t i = 0; i < count; ++i) {
      const float f = std::ldexp(m(rng), ex(rng)) * (sign(rng) ? -1.0f : 1.0f);
      std::memcpy(bytes.data() + 4 * i, &f, 4);
    }
    return bytes;
  }
  const bool bf16 = type == DenseType::kBF16;
  std::uniform_int_distribution<int> mant(0, bf16 ? 127 : 1023);
  for (size_t i = 0; i < count; ++i) {
    const uint16_t h = bf16 ? uint16_t(sign(rng) << 15 | (ex(rng) + 127) << 7 | mant(rng))
                            : uint16_t(sign(rng) << 15 | (ex(rng) + 15) << 10 | mant(rng));
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  return bytes;
}

const char* name(DenseType t) { return t == DenseType::kF32 ? "f32" : t == DenseType::kF16 ? "f16" : "bf16"; }

// y[t * ys + r] for rows [r0, r1), tokens [0, n) of x (rows xs apart).
using Product = std::function<void(DenseType, const void* w, size_t cols, const float* x, size_t xs, size_t n,
                                   size_t r0, size_t r1, const float* bias, float* y, size_t ys)>;

void check_product(const Product& form, std::vector<DenseType> types, std::vector<size_t> ns) {
  std::mt19937 rng(17);
  for (DenseType type : types) {
    for (size_t cols : {1, 5, 16, 31, 100, 771, 1100}) {
      for (size_t rows : {1, 5, 7, 13, 20}) {
        for (size_t n : ns) {
          CAPTURE(name(type));
          CAPTURE(cols);
          CAPTURE(rows);
          CAPTURE(n);
          const size_t xs = cols + 3, ys = rows + 2;
          const auto w = rand_weights(rng, type, rows * cols);
          const auto x = rand_vec(rng, n * xs, -2, 2);
          const auto bias = rand_vec(rng, rows, -1, 1);
          const float* b = (n + rows) % 2 ? bias.data() : nullptr;
          const size_t r0 = rows > 5 ? 1 : 0, r1 = rows;
          std::vector<float> y(n * ys, kPad);
          form(type, w.data(), cols, x.data(), xs, n, r0, r1, b, y.data(), ys);
          size_t bad = 0;
          for (size_t t = 0; t < n; ++t)
            for (size_t r = 0; r < ys; ++r) {
              if (r < r0 || r >= r1) {
                bad += y[t * ys + r] != kPad;
                continue;
              }
              double want = b ? b[r] : 0, mag = std::fabs(want);
              for (size_t c = 0; c < cols; ++c) {
                const double p = weight_value(type, w.data(), r * cols + c) * x[t * xs + c];
                want += p;
                mag += std::fabs(p);
              }
              // f32 summation: at most about cols ulp of the sum of magnitudes.
              if (!(std::fabs(y[t * ys + r] - want) <= 1.2e-7 * double(cols + 8) * mag)) {
                if (++bad <= 3) MESSAGE("t " << t << " r " << r << ": got " << y[t * ys + r] << " want " << want);
              }
            }
          REQUIRE(bad == 0);
        }
      }
    }
  }
}

using PanelFn = decltype(&gemm_dense_panels_ref);

// A panel form, its activations packed by pack_token_panels.
Product on_panels(PanelFn fn) {
  return [fn](DenseType type, const void* w, size_t cols, const float* x, size_t xs, size_t n, size_t r0, size_t r1,
              const float* bias, float* y, size_t ys) {
    std::vector<float> panels(token_panels_floats(n, cols), kPad);
    pack_token_panels(x, xs, n, cols, panels.data());
    fn(type, w, cols, panels.data(), n, r0, r1, bias, y, ys);
  };
}

using F32Fn = decltype(&gemm_f32_ref);

Product f32_rows(F32Fn fn) {
  return [fn](DenseType, const void* w, size_t cols, const float* x, size_t xs, size_t n, size_t r0, size_t r1,
              const float* bias, float* y,
              size_t ys) { fn(static_cast<const float*>(w), cols, x, xs, n, r0, r1, bias, y, ys); };
}

const std::vector<DenseType> kAllTypes = {DenseType::kF32, DenseType::kF16, DenseType::kBF16};
const std::vector<size_t> kPanelTokenCounts = {1, 5, 16, 17, 40, 64, 65, 130};

}  // namespace

TEST_CASE("pack_token_panels follows the layout") {
  std::mt19937 rng(1);
  for (size_t n : {1, 15, 16, 17, 40}) {
    const size_t cols = 7, xs = 9;
    const auto x = rand_vec(rng, n * xs, -1, 1);
    std::vector<float> panels(token_panels_floats(n, cols), kPad);
    CHECK(panels.size() == (n + 15) / 16 * 16 * cols);
    pack_token_panels(x.data(), xs, n, cols, panels.data());
    for (size_t t = 0; t < panels.size() / cols; ++t)
      for (size_t c = 0; c < cols; ++c)
        REQUIRE(panels[((t / 16) * cols + c) * 16 + t % 16] == (t < n ? x[t * xs + c] : 0.0f));
  }
}

TEST_CASE("gemm_f32_ref against double precision") {
  check_product(f32_rows(gemm_f32_ref), {DenseType::kF32}, {1, 2, 5});
}

TEST_CASE("gemm_dense_panels_ref against double precision") {
  check_product(on_panels(gemm_dense_panels_ref), kAllTypes, kPanelTokenCounts);
}

#if defined(EIDETIC_CPU_KERNELS_AVX2)
TEST_CASE("gemm_f32 and gemm_dense_panels, AVX2 forms, against double precision") {
  if (!cpu_has_avx2_fma()) return;
  check_product(f32_rows(gemm_f32_avx2), {DenseType::kF32}, {1, 2, 5});
  check_product(on_panels(gemm_dense_panels_avx2), kAllTypes, kPanelTokenCounts);
}

TEST_CASE("gemm_f32 and gemm_dense_panels, AVX-512 forms, against double precision") {
  if (!cpu_has_avx512f()) {
    MESSAGE("no AVX-512F on this CPU: forms not tested");
    return;
  }
  check_product(f32_rows(gemm_f32_avx512), {DenseType::kF32}, {1, 2, 5});
  check_product(on_panels(gemm_dense_panels_avx512), kAllTypes, kPanelTokenCounts);
}
#endif

#if defined(EIDETIC_CPU_KERNELS_NEON)
TEST_CASE("gemm_f32 and gemm_dense_panels, NEON forms, against double precision") {
  check_product(f32_rows(gemm_f32_neon), {DenseType::kF32}, {1, 2, 5});
  check_product(on_panels(gemm_dense_panels_neon), kAllTypes, kPanelTokenCounts);
}
#endif
